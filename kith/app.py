"""build_app(config): the one place that wires Kith's collaborators together."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from kith.api import account, devices, discovery, membership, messages, rooms as rooms_api
from kith.api import sync as sync_api
from kith.api import directory, public_rooms, relations as relations_api, report, room_upgrades
from kith.api import account_data as account_data_api, filter as filter_api, presence
from kith.api import profile, pushers as pushers_api, receipts as receipts_api
from kith.api import typing as typing_api, user_directory as user_directory_api
from kith.api.push_rules import PushRulesService, routes as push_rules_routes
from kith.api.receipts import Receipts
from kith.ephemeral.typing import TypingTracker
from kith.auth.service import AccountService
from kith.auth.uia import UserInteractiveAuth
from kith.config import Config
from kith.http.asgi import KithASGI
from kith.http import ratelimit
from kith.http.ratelimit import RateLimiter
from kith.http.types import Route
from kith.signing import SigningKey, read_signing_key, generate_signing_key, write_signing_key
from kith.rooms.serialize import EventSerializer
from kith.rooms.service import RoomService
from kith.rooms.visibility import VisibilityFilter
from kith.store import accounts as accounts_store, aliases as aliases_store, events as events_store
from kith.store.accounts import AccountStore
from kith.store.aggregations import AggregationStore
from kith.store.aliases import AliasStore
from kith.store.events import EventStore
from kith.store import reports as reports_store
from kith.store.relations import RelationStore
from kith.store.reports import ReportStore
from kith.sync.handler import SyncHandler
from kith.sync.ignored import IgnoredUsers
from kith.sync.lazy_members import SentMembers
from kith.sync.presence import PresenceSection
from kith.ephemeral.presence import PresenceTracker
from kith.store import presence as presence_store
from kith.sync.notifier import Notifier
from kith.store import account_data as account_data_store, filters as filters_store
from kith.store import profiles as profiles_store, push_rules as push_rules_store
from kith.store import pushers as pushers_store, receipts as receipts_store
from kith.store.account_data import AccountDataStore
from kith.store.filters import FilterStore
from kith.store.profiles import ProfileFieldStore
from kith.store.push_rules import PushRuleStore
from kith.store.pushers import PusherStore
from kith.store.receipts import ReceiptStore
from kith.store.user_directory import UserDirectoryStore
from kith.sync.push_rules_source import PushRulesSyncSource
from kith.sync.room_sections import RoomSections
from kith.sync.unread import UnreadCounter
from kith.store.database import Database
from kith.store.dialect import Statement
from kith.store import erasure as erasure_store
from kith.api import key_backup as key_backup_api, keys as keys_api, to_device as to_device_api
from kith.e2ee import service as e2ee_service
from kith.e2ee.to_device_queue import QueueLimits
from kith.api import media as media_api
from kith.media.service import MediaService, admin_contact
from kith.media.storage import MediaStorage
from kith.store import media as media_store
from kith.web.assets import StaticAssets
from kith.api import admin, old_sync, refresh, room_initial_sync
from kith.api import notifications as notifications_api, search as search_api
from kith.api.event_indexer import EventIndexer
from kith.store import notifications as notifications_store
from kith.store.search import SearchStore
from kith.api import hierarchy, timestamp
from kith.store import timestamps as timestamps_store
from kith.api import openid as openid_api, thirdparty, threepid, voip
from kith.store import openid as openid_store

log = logging.getLogger("kith")

SCHEMAS: list[Sequence[Statement]] = [accounts_store.SCHEMA, events_store.SCHEMA,
                                      aliases_store.SCHEMA]
SCHEMAS += [reports_store.SCHEMA]
STREAM_TABLES: list[str] = [*events_store.STREAM_TABLES]
SCHEMAS += [account_data_store.SCHEMA, receipts_store.SCHEMA, profiles_store.SCHEMA,
            pushers_store.SCHEMA, push_rules_store.SCHEMA, filters_store.SCHEMA]
STREAM_TABLES += [*account_data_store.STREAM_TABLES, *receipts_store.STREAM_TABLES]
SCHEMAS += [e2ee_service.SCHEMA, presence_store.SCHEMA]
STREAM_TABLES += presence_store.STREAM_TABLES
SCHEMAS += [media_store.SCHEMA, erasure_store.SCHEMA]
SCHEMAS += [notifications_store.SCHEMA]
SCHEMAS += [timestamps_store.SCHEMA]
SCHEMAS += [openid_store.SCHEMA]
STREAM_TABLES += e2ee_service.STREAM_TABLES


@dataclass
class App:
    config: Config
    db: Database
    asgi: KithASGI
    accounts: AccountService
    shutdown_hooks: list[Callable[[], None]] = field(default_factory=list)

    async def startup(self) -> None:
        log.info("Kith serving %s", self.config.server_name)

    _shutting_down: bool = False

    def begin_shutdown(self) -> None:
        """Called on SIGTERM before connections drain: release long-polls and
        stop background work. Runs its hooks once."""
        if self._shutting_down:
            return
        self._shutting_down = True
        for hook in self.shutdown_hooks:
            hook()

    async def shutdown(self) -> None:
        # Background tasks stop before the database they write to is closed.
        self.begin_shutdown()
        self.db.close()


def open_database(config: Config) -> Database:
    db = Database(config.database_path)
    db.create_schema([s for schema in SCHEMAS for s in schema], STREAM_TABLES)
    return db


def ensure_signing_key(config: Config) -> SigningKey:
    if not config.signing_key_path.exists():
        write_signing_key(config.signing_key_path, generate_signing_key())
    return read_signing_key(config.signing_key_path)


def build_app(config: Config) -> App:
    config.data_dir.mkdir(parents=True, exist_ok=True)
    signing_key = ensure_signing_key(config)
    db = open_database(config)
    account_store = AccountStore(db)
    accounts = AccountService(config.server_name, account_store)
    uia = UserInteractiveAuth()
    notifier = Notifier()
    event_store = EventStore(db)
    alias_store = AliasStore(db)
    room_service = RoomService(config.server_name, signing_key, event_store, notifier)
    erasures = erasure_store.ErasureStore(db)
    visibility = VisibilityFilter(event_store)
    relation_store = RelationStore(db)

    account_data = AccountDataStore(db)
    ignored_users = IgnoredUsers(account_data.get)
    account_data.on_write.append(ignored_users.changed)
    serializer = EventSerializer(event_store, AggregationStore(db), erasures, visibility,
                                 ignored_users.of)
    receipt_store = ReceiptStore(db)
    filter_store = FilterStore(db)
    push_rules_service = PushRulesService(PushRuleStore(db, account_data), notifier)

    async def wake_room(room_id: str) -> None:
        notifier.wake(await event_store.members(room_id))

    typing_tracker = TypingTracker(wake_room)

    routes: list[Route] = []
    routes += discovery.routes(config.base_url, config.support_page, config.support_admin)
    routes += account.routes(config, accounts, uia)
    routes += devices.routes(accounts, uia)
    routes += rooms_api.routes(room_service, account_store, alias_store, serializer, visibility,
                               config.encryption)
    routes += membership.routes(room_service, account_store, alias_store, serializer, visibility)
    sent_members = SentMembers()  # lazy-loaded members each device holds: /sync and /messages
    routes += messages.routes(event_store, serializer, visibility, ignored_users, sent_members)
    routes += directory.routes(room_service, alias_store, visibility)
    routes += public_rooms.routes(event_store, relation_store, config.server_name)
    routes += relations_api.routes(event_store, relation_store, serializer, visibility,
                                   ignored_users.of)
    routes += report.routes(event_store, ReportStore(db), account_store, visibility)
    routes += room_upgrades.routes(room_service, account_store, alias_store)
    routes += account_data_api.routes(account_data, notifier)
    routes += typing_api.routes(typing_tracker, event_store)
    routes += receipts_api.routes(
        Receipts(event_store, visibility, receipt_store, account_data, notifier))
    routes += profile.routes(account_store, ProfileFieldStore(db), room_service)
    presence_tracker, presence_section = None, None
    if config.presence:
        presence_rows = presence_store.PresenceStore(db)
        presence_tracker = PresenceTracker(presence_rows, event_store, notifier.wake)
        presence_section = PresenceSection(presence_tracker, presence_rows, event_store)
        room_service.after_persist.append(presence_tracker.after_persist)
    routes += presence.routes(account_store, presence_tracker, event_store.shares_room)
    routes += user_directory_api.routes(UserDirectoryStore(db))
    routes += pushers_api.routes(PusherStore(db))
    routes += push_rules_routes(push_rules_service)
    routes += filter_api.routes(filter_store)
    sync_handler = SyncHandler(
        db, event_store, RoomSections(event_store, serializer, visibility, sent_members), notifier,
        unread=UnreadCounter(event_store, push_rules_service.effective,
                             receipt_store.read_positions),
        account_data=account_data, receipts=receipt_store, typing=typing_tracker,
        extensions=[PushRulesSyncSource(push_rules_service.account_data_event)],
        ignored=ignored_users, presence=presence_section,
    )
    routes += sync_api.routes(sync_handler, filter_store.get_filter)
    e2ee = e2ee_service.E2EE.build(db, event_store, notifier, QueueLimits(
        config.to_device_queue, config.to_device_queue_per_sender))
    accounts.on_devices_deleted.append(e2ee.devices_deleted)
    accounts.on_deactivated.append(e2ee.deactivated)
    accounts.on_device_added.append(e2ee.device_lists.key_changed)
    accounts.on_device_renamed.append(e2ee.device_lists.key_changed)
    accounts.on_deactivated.append(room_service.leave_all)
    room_service.after_persist.append(e2ee.device_lists.after_persist)
    e2ee_sync = e2ee.sync_extension
    sync_handler.extensions.append(e2ee_sync)
    sync_handler.to_device = e2ee_sync
    routes += keys_api.routes(e2ee, accounts, uia)
    routes += to_device_api.routes(e2ee)
    routes += key_backup_api.routes(e2ee)
    media = MediaService(
        config.server_name, media_store.MediaStore(db), MediaStorage(config.media_dir),
        max_upload_bytes=config.media_max_upload_bytes,
        user_quota_bytes=config.media_user_quota_bytes,
        max_thumbnail_pixels=config.media_max_thumbnail_pixels,
        admin_contact=admin_contact(config.support_page, config.support_admin, config.base_url))
    routes += media_api.routes(media, legacy=config.media_legacy, url_preview=config.media_url_preview)
    accounts.on_erased += [erasures.erase, media.erase_user]
    room_infos = room_initial_sync.RoomInfos(event_store, serializer, visibility, account_data,
                                             ignored_users.of)
    event_stream = old_sync.EventStream(db, event_store, serializer, visibility, notifier)
    room_service.after_persist.append(event_stream.wake_peekers)
    routes += room_initial_sync.routes(room_infos) + old_sync.routes(
        event_stream, room_infos, event_store, serializer, visibility, account_data, db)
    routes += admin.routes(account_store) + refresh.routes()
    notification_rows = notifications_store.NotificationStore(db)
    search_index = SearchStore(db)
    indexer = EventIndexer([search_index.catch_up])
    room_service.after_persist.append(indexer.after_persist)
    routes += notifications_api.routes(
        notifications_api.NotificationLister(event_store, notification_rows,
                                             push_rules_service.effective, visibility),
        serializer, receipt_store.read_positions, ignored_users.of)
    routes += search_api.routes(search_api.RoomEventSearch(
        event_store, search_index, serializer, visibility, indexer.catch_up, ignored_users.of))
    routes += hierarchy.routes(event_store)
    routes += timestamp.routes(event_store, timestamps_store.TimestampStore(db), visibility)
    routes += threepid.routes() + thirdparty.routes(alias_store, account_store)
    openid_tokens = openid_store.OpenIdStore(db)
    routes += openid_api.routes(openid_tokens, config.server_name)
    routes += voip.routes(config.turn_uris, config.turn_shared_secret, config.turn_ttl)
    accounts.on_deactivated.append(openid_tokens.delete_user)

    limiter = RateLimiter(*ratelimit.STRICT) if config.rate_limit else None
    everyday = RateLimiter(*ratelimit.EVERYDAY) if config.rate_limit else None
    app = App(config=config, db=db, asgi=None, accounts=accounts)  # type: ignore[arg-type]
    app.shutdown_hooks.append(notifier.close)
    app.shutdown_hooks.append(typing_tracker.close)
    app.shutdown_hooks.append(indexer.close)
    if presence_tracker is not None:
        app.shutdown_hooks.append(presence_tracker.close)

    async def lifespan(phase: str) -> None:
        if phase == "startup":
            await app.startup()
        elif phase == "shutdown":
            await app.shutdown()

    app.asgi = KithASGI(routes, account_store, config.max_request_bytes, limiter,
                        fallback=StaticAssets(), lifespan=lifespan, everyday_limiter=everyday)
    return app
