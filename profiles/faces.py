"""Face comparison behind one small interface (docs/contract.md, "Verification").

AWS Rekognition `CompareFaces` when REKOGNITION_ENABLED; otherwise `UnavailableComparer`, which
refuses honestly: the caller records the attempt and nobody is ever marked verified by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings

from vlvt.lazy import Lazy


@dataclass(frozen=True, slots=True)
class FaceComparison:
    similarity: float  # the best FaceMatches similarity, 0 when no face matched
    raw: dict[str, Any]  # the provider's full response, stored for audit


class FaceComparisonUnavailable(Exception):
    """No face comparison service is configured."""


class FaceComparisonFailed(Exception):
    """The service is configured but the comparison could not be made."""


class FaceComparer(Protocol):
    def compare(self, *, source: bytes, target: bytes, threshold: float) -> FaceComparison: ...


class UnavailableComparer:
    def compare(self, *, source: bytes, target: bytes, threshold: float) -> FaceComparison:
        raise FaceComparisonUnavailable


class RekognitionComparer:
    def __init__(self) -> None:
        import boto3

        self.client = boto3.client("rekognition", region_name=settings.AWS_REGION)

    def compare(self, *, source: bytes, target: bytes, threshold: float) -> FaceComparison:
        try:
            response = self.client.compare_faces(
                SourceImage={"Bytes": source},
                TargetImage={"Bytes": target},
                SimilarityThreshold=threshold,
            )
        except Exception as exc:  # botocore errors, network errors
            raise FaceComparisonFailed(type(exc).__name__) from exc
        raw = {k: v for k, v in response.items() if k != "ResponseMetadata"}
        scores = [float(m.get("Similarity", 0)) for m in response.get("FaceMatches", [])]
        return FaceComparison(similarity=max(scores, default=0.0), raw=raw)


def _configured_comparer() -> FaceComparer:
    return RekognitionComparer() if settings.REKOGNITION_ENABLED else UnavailableComparer()


_comparer: Lazy[FaceComparer] = Lazy(
    _configured_comparer, made_from=lambda setting: setting in {"REKOGNITION_ENABLED", "AWS_REGION"}
)
face_comparer = _comparer.get
set_face_comparer = _comparer.set  # tests swap in a fake (Rekognition is what leaves the machine)
