"""Page figures of issue 11 item 11 (and issue 15): each page's time to a drawn map and the bytes
the browser receives, per role, in real Chromium, at ``--n`` synthetic incidents -- this tree
("after") against the code of a named baseline commit ("before", default d394e6e).

For each variant a scratch database on the test PostGIS server is migrated and loaded by that
variant's own code as the app is served (bundled communities, streets and facilities, the demo
layers), with one account per signed-in role scoped to Pata Rât; ``--n`` non-sensitive incidents
over the 24 complete months before this one are added to Pata Rât with ``COPY`` as soon as the
server answers.  Then the **cold visit**: ``--cold-role`` (police) opens Hotspots, then Map, the
first pages this server process draws (its imports and caches, 6-10 s once per process before
``app/preload.py``), printed apart as ``cold`` with how long after the server first answered it
began, and the server's own ``harta preload`` line when it has one.  Then a warm-up visit to both
pages, so the measured (warm) pages pay no first-visit cost.
The variant's app is served (``streamlit run`` through its ``app/serve.py``, offline) and driven
by Debian's Chromium: for each role, sign in (``public``: nobody signed in), open the Map page,
then the account page, then the Hotspots page from the menu.  For each page:

* **seconds**: from the menu click to the first Leaflet vector path drawn in the map's frame;
* **bytes**: every WebSocket frame and HTTP response body received from the click until the
  page is idle (the map travels inside a WebSocket frame).

Every database session of the baseline has ``statement_timeout = --timeout`` (set on its scratch
database, so it holds whatever the code does with its connections), and a page that draws
nothing within ``--timeout`` is printed as a lower bound (``> timeout``).  Scratch databases are
dropped at the end; the baseline's tree is a ``git worktree`` (``--before-tree``).

Run: ``python scripts/bench_pages.py --n 10000`` and ``--n 100000`` (``git worktree add
/tmp/before d394e6e`` first).  Target: every page under 3 s and 3 MB at 100,000 incidents.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROLES = ("public", "community", "planner", "admin", "mediator", "police")
PAGES = ("map", "hotspots")
TZ = "Europe/Bucharest"
SEED = 20261201
#: Pages of the cold visit, in order: the heavier first (it pays the shared first-visit costs).
COLD_PAGES = ("hotspots", "map")


def password(role: str) -> str:
    return f"{role}-Bench-pages-2026"


# --------------------------------------------------------------------------------------------
# Preparing a variant's database (runs under that variant's code: PYTHONPATH=<tree>)
# --------------------------------------------------------------------------------------------
def prepare(url: str, n: int, phase: str, seed: int = SEED) -> None:
    """Phase ``schema``: migrate ``url`` with the importable ``geo``, add Pata Rât and one
    account per signed-in role.  Phase ``incidents``: load ``n`` incidents (COPY)."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    import numpy as np
    import shapely
    from sqlalchemy import create_engine, text

    from geo.accounts import create_user
    from geo.communities import Community, bootstrap, find_source, read_boundary
    from geo.db.migrate import upgrade
    from geo.demo import seed_demo

    engine = create_engine(url)
    source = find_source("pata-rat")
    boundary = read_boundary(source.boundary_file)
    if phase == "schema":
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        upgrade(engine)
        # The app as it is served: bundled communities, streets, facilities, demo layers.
        bootstrap(engine)
        seed_demo(engine)
        cid = Community.load(engine, "pata-rat").id
        for role in ROLES[1:]:
            create_user(engine, f"bench-{role}", password(role), role, [cid])
        engine.dispose()
        return
    zone = ZoneInfo(TZ)
    today = dt.datetime.now(zone).date()
    end = dt.datetime(today.year, today.month, 1, tzinfo=zone)
    start = dt.datetime(end.year - 2, end.month, 1, tzinfo=zone)
    rng = np.random.default_rng(seed)
    xmin, ymin, xmax, ymax = boundary.bounds
    xy = np.empty((0, 2))
    while len(xy) < n:
        cand = rng.uniform([xmin, ymin], [xmax, ymax], size=(n, 2))
        xy = np.vstack([xy, cand[shapely.contains_xy(boundary, cand[:, 0], cand[:, 1])]])
    xy = xy[:n]
    seconds = rng.uniform(0, (end - start).total_seconds(), n)
    types = rng.choice(["theft", "assault", "fire", "traffic_collision", "threat_harassment"], n)
    severity = rng.integers(1, 6, n)
    t0 = time.perf_counter()
    cid = Community.load(engine, "pata-rat").id
    with engine.begin() as conn:
        buf = io.StringIO()
        for k in range(n):
            at = dt.datetime.fromtimestamp(start.timestamp() + seconds[k], dt.UTC).isoformat()
            buf.write(
                f"{cid}\t{at}\t{types[k]}\t{severity[k]}\texact\tnormal\tpolice\treported\t"
                f"SRID=4326;POINT({xy[k, 0]:.7f} {xy[k, 1]:.7f})\tform\tpolice\tt\n"
            )
        raw = conn.connection.driver_connection
        with raw.cursor().copy(
            "COPY incidents (community_id, occurred_at, type_code, severity,"
            " location_precision, sensitivity, reporting_role, status, geom, source,"
            " created_by_role, is_demo) FROM STDIN"
        ) as copy:
            copy.write(buf.getvalue())
    with engine.begin() as conn:
        conn.execute(text("ANALYZE incidents"))
    engine.dispose()
    print(json.dumps({"load_seconds": time.perf_counter() - t0}))


# --------------------------------------------------------------------------------------------
# Serving and driving a variant
# --------------------------------------------------------------------------------------------
def _server_url() -> str:
    sys.path.insert(0, str(ROOT / "scripts"))
    from bench_aggregates import _server_url as server

    return server()


def _variant_env(tree: Path, url: str, data_dir: str) -> dict:
    return {
        **os.environ,
        "PYTHONPATH": str(tree),
        "DATABASE_URL": url,
        "HARTA_ONLINE": "0",
        "HARTA_DATA_DIR": data_dir,
    }


@contextlib.contextmanager
def _serving(tree: Path, env: dict, log: Path):
    """The variant's app on a free port; yields its base URL."""
    import socket
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    probe = (
        "import json; from geo.cli import streamlit_command;"
        f" print(json.dumps(streamlit_command({port}, '127.0.0.1')))"
    )
    cmd = json.loads(
        subprocess.run(
            [sys.executable, "-c", probe],
            env=env,
            cwd=tree,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=tree, stdout=out, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                with contextlib.suppress(OSError):
                    with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as reply:
                        if reply.read() == b"ok":
                            break
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the app did not start; see {log}")
                time.sleep(0.3)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


class _Meter:
    """Bytes received by a page: WebSocket frames and HTTP response bodies (Chromium's CDP)."""

    def __init__(self, page) -> None:  # noqa: ANN001
        self.bytes = 0
        cdp = page.context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.on("Network.webSocketFrameReceived", self._frame)
        cdp.on("Network.loadingFinished", self._http)

    def _frame(self, event: dict) -> None:
        response = event["response"]
        data = response.get("payloadData", "")
        # Binary frames (Streamlit's protobuf deltas) come base64-encoded.
        self.bytes += len(data) * 3 // 4 if response.get("opcode") == 2 else len(data.encode())

    def _http(self, event: dict) -> None:
        self.bytes += int(event.get("encodedDataLength", 0))


def _drawn(page, timeout_s: float) -> bool:  # noqa: ANN001
    """Whether a Leaflet vector path appears in a frame within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for frame in page.frames:
            with contextlib.suppress(Exception):
                if frame.query_selector("path.leaflet-interactive"):
                    return True
        time.sleep(0.1)
    return False


def _no_map(page, timeout_s: float = 60) -> None:  # noqa: ANN001
    """Wait until no map frame is left from the previous page."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not any(
            f.query_selector("path.leaflet-interactive") for f in page.frames if not f.is_detached()
        ):
            return
        time.sleep(0.2)


def _idle(page, timeout_s: float) -> None:  # noqa: ANN001
    sys.path.insert(0, str(ROOT))
    from tests.browser import wait_idle

    wait_idle(page, int(timeout_s * 1000))


def _open(page, path: str) -> None:  # noqa: ANN001
    page.locator(f'[data-testid="stSidebarNav"] a[href$="/{path}"]').first.click()


def _sign_in(page, base: str, role: str) -> None:  # noqa: ANN001
    from geo.i18n import t

    page.goto(f"{base}/account")
    page.wait_for_selector("h1", timeout=120_000)
    if role == "public":
        return
    page.get_by_label(t("account.username", "ro"), exact=True).fill(f"bench-{role}")
    page.get_by_label(t("account.password", "ro"), exact=True).fill(password(role))
    page.get_by_role("button", name=t("account.sign_in", "ro"), exact=True).click()
    page.get_by_text(t("account.sign_out", "ro"), exact=True).first.wait_for(timeout=120_000)


def _measure_role(
    base: str, role: str, timeout_s: float, pages: tuple[str, ...] = PAGES
) -> dict[str, tuple[float | None, int]]:
    """(seconds to a drawn map or None past the timeout, bytes) of each page for ``role``."""
    sys.path.insert(0, str(ROOT))
    from tests.browser import browser_page

    out = {}
    with browser_page((1400, 900)) as page:
        _sign_in(page, base, role)
        for path in pages:
            _open(page, "account")
            page.wait_for_timeout(500)
            _no_map(page)
            _idle(page, 60)
            meter = _Meter(page)
            start = time.perf_counter()
            _open(page, path)
            drawn = _drawn(page, timeout_s)
            seconds = time.perf_counter() - start if drawn else None
            if drawn:
                _idle(page, timeout_s)
            out[path] = (seconds, meter.bytes)
    return out


def _prepare(
    name: str, tree: Path, env: dict, url: str, n: int, phase: str, seed: int = SEED
) -> dict:
    done = subprocess.run(
        [sys.executable, str(Path(__file__)), "--prepare", url, "--phase", phase, "--n", str(n),
         "--seed", str(seed)],
        env=env, cwd=tree, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"preparing {name} ({phase}) failed:\n{done.stderr[-3000:]}")
    lines = done.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {}


def _warm_up(base: str, timeout_s: float) -> None:
    """Open both pages once as the public: the first visits of the aggregated path (after the
    cold visit of an exact role), which no measured page should pay."""
    sys.path.insert(0, str(ROOT))
    from tests.browser import browser_page

    with browser_page((1400, 900)) as page:
        _sign_in(page, base, "public")
        for path in PAGES:
            _open(page, path)
            page.wait_for_timeout(1000)
            _idle(page, timeout_s)


def _cold_visit(name: str, base: str, args, answered: float, log: Path) -> dict:  # noqa: ANN001
    """The first pages this server process draws (:data:`COLD_PAGES`), printed as ``cold``."""
    began = time.monotonic() - answered
    figures = _measure_role(base, args.cold_role, args.timeout, COLD_PAGES)
    for page, (seconds, size) in figures.items():
        shown = f"{seconds:7.2f} s" if seconds is not None else f"> {args.timeout:g} s"
        print(
            f"{name:>6}  {args.n:>8,}  {args.cold_role:>9}  {page:>8}  {shown:>10}"
            f"  {size / 1e6:9.2f} MB   cold: first visit, {began:.0f} s after the server answered",
            flush=True,
        )
    warmed = [line for line in log.read_text(errors="replace").splitlines() if "preload" in line]
    print(f"{name:>6}  server log: {warmed[-1].strip() if warmed else 'no preload'}", flush=True)
    return figures


def _run_variant(name: str, tree: Path, server: str, args) -> dict:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    db = f"bench_pages_{name}_{os.getpid()}"
    url = make_url(server).set(database=db).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db}"'))
    try:
        with tempfile.TemporaryDirectory(prefix=f"bench-pages-{name}-") as data_dir:
            env = _variant_env(tree, url, data_dir)
            _prepare(name, tree, env, url, args.n, "schema")
            if name == "before":
                with admin.connect() as conn:
                    conn.execute(
                        text(
                            f'ALTER DATABASE "{db}" SET statement_timeout'
                            f" = '{int(args.timeout * 1000)}ms'"
                        )
                    )
            figures = {}
            log = ROOT / ".test-data" / f"bench-pages-{name}-{os.getpid()}.log"
            with _serving(tree, env, log) as base:
                answered = time.monotonic()
                load = _prepare(name, tree, env, url, args.n, "incidents")["load_seconds"]
                print(f"{name:>6}: loaded {args.n:,} incidents in {load:.1f} s (COPY)", flush=True)
                figures["cold"] = _cold_visit(name, base, args, answered, log)
                _warm_up(base, args.timeout)
                for role in args.roles:
                    figures[role] = _measure_role(base, role, args.timeout)
                    for page, (seconds, size) in figures[role].items():
                        shown = (
                            f"{seconds:7.2f} s" if seconds is not None else f"> {args.timeout:g} s"
                        )
                        print(
                            f"{name:>6}  {args.n:>8,}  {role:>9}  {page:>8}  {shown:>10}"
                            f"  {size / 1e6:9.2f} MB",
                            flush=True,
                        )
            return figures
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()


def _table(n: int, after: dict, before: dict, timeout: float) -> None:
    def cell(v):
        seconds, size = v
        s = f"{seconds:6.2f} s" if seconds is not None else f"> {timeout:g} s"
        return f"{s:>9} {size / 1e6:7.2f} MB"

    print(f"\n{n:,} incidents: page, role, after (this tree) vs before (baseline)")
    for page, v in after.get("cold", {}).items():
        b = cell(before["cold"][page]) if "cold" in before else "—"
        print(f"  {page:>8}  {'cold':>9}   after {cell(v)}   before {b}   (first visit)")
    for role in (r for r in after if r != "cold"):
        for page in PAGES:
            b = cell(before[role][page]) if role in before else "—"
            print(f"  {page:>8}  {role:>9}   after {cell(after[role][page])}   before {b}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--roles", nargs="+", default=list(ROLES), choices=ROLES)
    parser.add_argument("--cold-role", default="police", choices=ROLES)
    parser.add_argument("--before-tree", type=Path, default=Path("/tmp/before"))
    parser.add_argument("--skip-before", action="store_true")
    parser.add_argument("--prepare", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--phase", choices=("schema", "incidents"), help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=SEED, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        prepare(args.prepare, args.n, args.phase, args.seed)
        return
    # A terminated run still drops its databases and stops its apps (finally clauses).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    server = _server_url()
    after = _run_variant("after", ROOT, server, args)
    before = {}
    if not args.skip_before:
        before = _run_variant("before", args.before_tree.resolve(), server, args)
    _table(args.n, after, before, args.timeout)


if __name__ == "__main__":
    main()
