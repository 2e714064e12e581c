"""Demo data: users, profiles, subscriptions, swipes, matches and messages (development, benchmarks).

    python manage.py seed_demo                                   # 200 users, 200 matches, 4,000 messages
    python manage.py seed_demo --users 1000 --matches 2000 --messages 50000

Everything is derived from the arguments and `--seed`: ids are deterministic (UUIDv5), so running
it again writes the same rows (users, profiles and subscriptions are upserted, the rest is inserted
with ON CONFLICT DO NOTHING) and the row counts stay the same. Users are `users` rows, which only
auth-service creates in production, so the command refuses to run with APP_ENV=production.

Seeded messages all lie before today (UTC), so they do not count against the free tier's daily cap.

Every profile photo is a real JPEG (a small generated colour gradient, 300 x 400) written through the
photo storage (MEDIA_ROOT, or R2 when configured), so the demo's photo URLs answer; photos already
stored are left as they are. `--no-photos` skips them (rows only).

It lives in the chat app because it seeds both apps' tables and chat depends on profiles, never
the reverse.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import uuid
from decimal import Decimal
from functools import cache

import pyvips
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from tqdm import tqdm

from chat.models import Message
from profiles import storage
from profiles.models import Match, Profile, Swipe, User, UserSubscription
from vlvt.env import IS_PRODUCTION

NAMESPACE = uuid.UUID("6f1d3c2e-8a51-4d0b-9c57-2f3e4b5a6c7d")
CITIES = {
    "new-york": (40.7128, -74.0060),
    "london": (51.5074, -0.1278),
    "berlin": (52.5200, 13.4050),
}
RADIUS_KM = 25.0
PHOTO_SIZE = (300, 400)
PHOTO_PALETTE = 24  # distinct generated images, shared out by the photo's id
BATCH = 5000

GENDERS = [("Male", 45), ("Female", 45), ("Non-Binary", 10)]
PREFERENCES = [("Straight", 60), ("Gay", 15), ("Bisexual", 20), ("Pansexual", 5)]
INTENTS = ["Chat", "Hookup", "Dating", "Relationship"]
INTERESTS = [
    "hiking", "coffee", "travel", "cooking", "yoga", "music", "photography", "running", "books",
    "movies", "gaming", "art", "dogs", "cats", "climbing", "wine", "cycling", "dancing", "theatre", "surfing",
]  # fmt: skip
NAMES = {
    "Male": ["James", "Liam", "Noah", "Ethan", "Lucas", "Mateo", "Omar", "Kenji", "Ravi", "Leo"],
    "Female": ["Olivia", "Emma", "Ava", "Sofia", "Mia", "Amara", "Yuki", "Priya", "Chloe", "Zoe"],
    "Non-Binary": ["Alex", "Sam", "Jordan", "Riley", "Quinn", "Rowan", "Sage", "Robin", "Kai", "Avery"],
}
BIOS = [
    "Weekend hiker, weekday coffee snob.",
    "Looking for someone to try every taco place in town with.",
    "Bookworm with a soft spot for live music.",
    "Dog person. Will ask to pet your dog.",
    "Amateur chef, professional eater.",
    "Always planning the next trip.",
]
LINES = [
    "Hey! How's your week going?",
    "Haha, that's amazing.",
    "Have you been to that new place downtown?",
    "I'm free on Saturday if you are.",
    "What are you reading at the moment?",
    "That sounds like a great plan!",
    "Coffee or a walk in the park?",
    "Sorry, long day at work. Tell me more!",
]


def _id(*parts: object) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, ":".join(str(p) for p in parts))


def user_id(index: int) -> str:
    """auth-service's `email_<ms>_<rand7>` shape, deterministic."""
    return f"email_{1700000000000 + index}_seed{index % 1000:03d}"


@cache
def demo_photo(index: int) -> bytes:
    """A small JPEG: a diagonal gradient between two colours of the palette entry `index`."""
    width, height = PHOTO_SIZE
    rng = random.Random(index)
    start = [rng.randrange(40, 216) for _ in range(3)]
    end = [rng.randrange(40, 216) for _ in range(3)]
    xy = pyvips.Image.xyz(width, height)
    t = (xy[0] + xy[1]) / float(width + height - 2)  # 0 at the top left, 1 at the bottom right
    bands = [t * (b - a) + a for a, b in zip(start, end, strict=True)]
    image = bands[0].bandjoin(bands[1:]).cast("uchar").copy(interpretation="srgb")
    return image.jpegsave_buffer(Q=80, strip=True)


def photo_index(key: str) -> int:
    return uuid.uuid5(NAMESPACE, key).int % PHOTO_PALETTE


def _weighted(rng: random.Random, options: list[tuple[str, int]]) -> str:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


def _around(rng: random.Random, lat: float, lng: float) -> tuple[Decimal, Decimal]:
    distance = RADIUS_KM * math.sqrt(rng.random())  # uniform over the disc
    bearing = rng.uniform(0, 2 * math.pi)
    dlat = distance * math.cos(bearing) / 111.32
    dlng = distance * math.sin(bearing) / (111.32 * math.cos(math.radians(lat)))
    q = Decimal("0.00000001")
    return Decimal(lat + dlat).quantize(q), Decimal(lng + dlng).quantize(q)


class Command(BaseCommand):
    help = "Create (or refresh) deterministic demo data: users, profiles, subscriptions, swipes, matches, messages."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=200)
        parser.add_argument("--matches", type=int, default=None, help="default: as many as users")
        parser.add_argument("--messages", type=int, default=None, help="default: 20 per match")
        parser.add_argument("--city", choices=sorted(CITIES), default="new-york")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--no-progress", action="store_true", help="no progress bars")
        parser.add_argument(
            "--no-photos", action="store_true", help="profile rows only: store no photo files"
        )

    def handle(self, *args, **opts):
        if IS_PRODUCTION:
            raise CommandError("seed_demo creates users; it does not run with APP_ENV=production")
        n_users: int = opts["users"]
        n_matches: int = n_users if opts["matches"] is None else opts["matches"]
        n_messages: int = 20 * n_matches if opts["messages"] is None else opts["messages"]
        if n_users < 0 or n_matches < 0 or n_messages < 0:
            raise CommandError("--users, --matches and --messages must not be negative")
        max_pairs = n_users * (n_users - 1) // 2
        if n_matches > max_pairs:
            raise CommandError(
                f"--matches {n_matches} is more than the {max_pairs} pairs {n_users} users allow"
            )
        if n_messages and not n_matches:
            raise CommandError("messages need at least one match")
        self.progress = not opts["no_progress"]
        self.rng = random.Random(opts["seed"])
        # Everything happens before today (UTC) so seeded messages never count as "sent today".
        today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        self.anchor = today - dt.timedelta(hours=1)
        lat, lng = CITIES[opts["city"]]

        ids = [user_id(i) for i in range(n_users)]
        self._users(ids, lat, lng)
        if not opts["no_photos"]:
            self._photos(ids)
        pairs = self._pairs(n_users, n_matches)
        matches = self._matches(ids, pairs)
        self._swipes(ids, pairs)
        self._messages(matches, n_messages)

        counts = {
            "users": User.objects.filter(id__in=ids).count(),
            "profiles": Profile.objects.filter(user_id__in=ids).count(),
            "subscriptions": UserSubscription.objects.filter(user_id__in=ids).count(),
            "swipes": Swipe.objects.filter(user_id__in=ids).count(),
            "matches": Match.objects.filter(id__in=[m.id for m in matches]).count(),
            "messages": Message.objects.filter(match_id__in=[m.id for m in matches]).count(),
        }
        self.stdout.write("Seeded: " + ", ".join(f"{v} {k}" for k, v in counts.items()))

    # --- phases ---------------------------------------------------------------------------

    def _bar(self, total: int, desc: str) -> tqdm:
        return tqdm(total=total, desc=desc, unit="row", disable=not self.progress, leave=False)

    def _users(self, ids: list[str], lat: float, lng: float) -> None:
        rng = self.rng
        users, profiles, subscriptions = [], [], []
        for i, uid in enumerate(ids):
            joined = self.anchor - dt.timedelta(
                days=90 + rng.randrange(0, 180), minutes=rng.randrange(0, 1440)
            )
            users.append(
                User(
                    id=uid,
                    provider="email",
                    email=f"demo{i}@vlvt.example",
                    created_at=joined,
                    updated_at=joined,
                    id_verified=i % 10 != 9,  # most can message (the profile gate needs it)
                    id_verified_at=joined + dt.timedelta(days=1) if i % 10 != 9 else None,
                    after_hours_consent=i % 3 == 0,
                    after_hours_consent_at=joined + dt.timedelta(days=2) if i % 3 == 0 else None,
                )
            )
            gender = _weighted(rng, GENDERS)
            plat, plng = _around(rng, lat, lng)
            profiles.append(
                Profile(
                    user_id=uid,
                    name=rng.choice(NAMES[gender]),
                    age=rng.randint(18, 55),
                    bio=rng.choice(BIOS),
                    photos=[f"photos/{uid}/{_id('photo', uid, p)}.jpg" for p in range(rng.randint(1, 4))],
                    interests=rng.sample(INTERESTS, rng.randint(3, 5)),
                    latitude=plat,
                    longitude=plng,
                    location_updated_at=joined + dt.timedelta(days=1),
                    gender=gender,
                    sexual_preference=_weighted(rng, PREFERENCES),
                    intent=rng.choice(INTENTS),
                    is_verified=i % 4 != 3,
                    verified_at=joined + dt.timedelta(days=1) if i % 4 != 3 else None,
                    created_at=joined,
                    updated_at=joined,
                )
            )
            if i % 5 == 0:  # a fifth are premium; every 25th for life
                subscriptions.append(
                    UserSubscription(
                        id=_id("subscription", uid),
                        user_id=uid,
                        is_active=True,
                        product_id="vlvt_premium_lifetime" if i % 25 == 0 else "vlvt_premium_monthly",
                        purchase_date=joined + dt.timedelta(days=3),
                        expires_at=None if i % 25 == 0 else self.anchor + dt.timedelta(days=30),
                        revenuecat_subscriber_id=f"rc_{uid}",
                        revenuecat_original_transaction_id=f"rc_txn_{i}",
                        platform="ios" if i % 2 else "android",
                        created_at=joined,
                        updated_at=joined,
                    )
                )
        with self._bar(len(users) + len(profiles) + len(subscriptions), "users") as bar:
            for start in range(0, len(users), BATCH):
                with transaction.atomic():
                    chunk = users[start : start + BATCH]
                    User.objects.bulk_create(
                        chunk,
                        update_conflicts=True,
                        unique_fields=["id"],
                        update_fields=["provider", "email", "id_verified", "after_hours_consent"],
                    )
                    bar.update(len(chunk))
                    profile_chunk = profiles[start : start + BATCH]
                    Profile.objects.bulk_create(
                        profile_chunk,
                        update_conflicts=True,
                        unique_fields=["user"],
                        update_fields=[
                            "name",
                            "age",
                            "bio",
                            "photos",
                            "interests",
                            "latitude",
                            "longitude",
                            "gender",
                            "sexual_preference",
                            "intent",
                            "is_verified",
                        ],  # fmt: skip
                    )
                    bar.update(len(profile_chunk))
            for start in range(0, len(subscriptions), BATCH):
                subscription_chunk = subscriptions[start : start + BATCH]
                UserSubscription.objects.bulk_create(
                    subscription_chunk,
                    update_conflicts=True,
                    unique_fields=["id"],
                    update_fields=["is_active", "product_id", "purchase_date", "expires_at", "platform"],
                )
                bar.update(len(subscription_chunk))

    def _photos(self, ids: list[str]) -> None:
        keys = [
            key
            for photos in Profile.objects.filter(user_id__in=ids).values_list("photos", flat=True)
            for key in photos or ()
        ]
        photo_storage = storage.photo_storage()
        with tqdm(total=len(keys), desc="photos", unit="file", disable=not self.progress, leave=False) as bar:
            for key in keys:
                if not photo_storage.exists(key):
                    storage.save(key, demo_photo(photo_index(key)))
                bar.update()

    def _pairs(self, n_users: int, n_matches: int) -> list[tuple[int, int]]:
        rng = random.Random(self.rng.random())
        seen: set[tuple[int, int]] = set()
        pairs: list[tuple[int, int]] = []
        while len(pairs) < n_matches:
            a, b = rng.randrange(n_users), rng.randrange(n_users)
            pair = (min(a, b), max(a, b))
            if a == b or pair in seen:
                continue
            seen.add(pair)
            pairs.append(pair)
        return pairs

    def _matches(self, ids: list[str], pairs: list[tuple[int, int]]) -> list[Match]:
        rng = self.rng
        matches = [
            Match(
                id=f"match_{_id('match', ids[a], ids[b])}",
                user_1_id=ids[a],
                user_2_id=ids[b],
                created_at=self.anchor
                - dt.timedelta(days=2 + rng.randrange(0, 60), minutes=rng.randrange(0, 1440)),
                source="swipe",
            )
            for a, b in pairs
        ]
        with self._bar(len(matches), "matches") as bar:
            for start in range(0, len(matches), BATCH):
                chunk = matches[start : start + BATCH]
                Match.objects.bulk_create(chunk, ignore_conflicts=True)
                bar.update(len(chunk))
        return matches

    def _swipes(self, ids: list[str], pairs: list[tuple[int, int]]) -> None:
        rng = self.rng
        actions: dict[tuple[int, int], str] = {}
        for a, b in pairs:  # a match is a mutual like
            actions[(a, b)] = actions[(b, a)] = "like"
        if len(ids) > 1:
            for a in range(len(ids)):  # and some one-sided swipes
                for _ in range(3):
                    b = rng.randrange(len(ids))
                    if b != a and (a, b) not in actions and (b, a) not in actions:
                        actions[(a, b)] = "like" if rng.random() < 0.4 else "pass"
        swipes = [
            Swipe(id=_id("swipe", ids[a], ids[b]), user_id=ids[a], target_user_id=ids[b], action=action)
            for (a, b), action in actions.items()
        ]
        with self._bar(len(swipes), "swipes") as bar:
            for start in range(0, len(swipes), BATCH):
                chunk = swipes[start : start + BATCH]
                Swipe.objects.bulk_create(chunk, ignore_conflicts=True)
                bar.update(len(chunk))

    def _messages(self, matches: list[Match], n_messages: int) -> None:
        if not n_messages:
            return
        per_match = [
            n_messages // len(matches) + (1 if i < n_messages % len(matches) else 0)
            for i in range(len(matches))
        ]
        columns = ["id", "match_id", "sender_id", "text", "created_at", "status", "delivered_at", "read_at"]
        with self._bar(n_messages, "messages") as bar:
            batch: list[tuple] = []
            for match, count in zip(matches, per_match, strict=True):
                assert match.created_at is not None  # this command sets it
                span = self.anchor - match.created_at
                for pos in range(count):
                    sender = match.user_1_id if (pos + len(match.id)) % 2 == 0 else match.user_2_id
                    sent_at = match.created_at + span * (pos + 1) / (count + 1)
                    read = pos < count - 2  # the last two are still unread
                    batch.append(
                        (
                            f"msg_{_id('message', match.id, pos)}",
                            match.id,
                            sender,
                            LINES[(pos + len(sender)) % len(LINES)],
                            sent_at,
                            "read" if read else "delivered",
                            sent_at + dt.timedelta(seconds=2),
                            sent_at + dt.timedelta(minutes=1) if read else None,
                        )
                    )
                    if len(batch) >= BATCH:
                        _copy_insert(Message._meta.db_table, columns, batch)
                        bar.update(len(batch))
                        batch = []
            if batch:
                _copy_insert(Message._meta.db_table, columns, batch)
                bar.update(len(batch))


def _copy_insert(table: str, columns: list[str], rows: list[tuple]) -> None:
    """COPY into a temporary table, then INSERT ... ON CONFLICT DO NOTHING (COPY alone cannot skip
    rows that exist). Several times faster than a multi-row INSERT for tens of thousands of rows."""
    cols = ", ".join(columns)
    with transaction.atomic(), connection.cursor() as cursor:
        # Dropped explicitly: ON COMMIT DROP would not fire inside an outer transaction (tests).
        cursor.execute(f"CREATE TEMP TABLE seed_rows (LIKE {table} INCLUDING DEFAULTS)")
        with cursor.cursor.copy(f"COPY seed_rows ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM seed_rows ON CONFLICT DO NOTHING")
        cursor.execute("DROP TABLE seed_rows")
