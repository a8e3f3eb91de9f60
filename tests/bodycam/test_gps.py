"""GPX and NMEA as devices write them, garbage included: points kept or dropped and counted, never a crash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from vigie.ingest.bodycam.gps import TrackFormat, guess_format, parse_track
from vigie.sim.bodycam import _nmea  # the simulator's own NMEA writer

from .helpers import T0, gpx, walk

HEAD = '<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
TAIL = "</trkseg></trk></gpx>"


def point(lat: str, lon: str, when: str | None) -> str:
    time = f"<time>{when}</time>" if when is not None else ""
    return f'<trkpt lat="{lat}" lon="{lon}">{time}</trkpt>'


def test_a_clean_gpx_track_is_read_whole() -> None:
    parsed = parse_track(gpx(walk(T0, 30)), TrackFormat.GPX)
    assert len(parsed.points) == 31 and parsed.dropped == 0 and parsed.anomalies == []
    assert parsed.points[0].t == T0.timestamp() and abs(parsed.points[0].lat - 45.76) < 1e-9


def test_bad_points_are_dropped_and_counted() -> None:
    good = T0.isoformat().replace("+00:00", "Z")
    body = "".join(
        [
            point("45.76", "4.84", good),
            point("abc", "4.84", good),  # not a number: gpxpy gives up on the file, we read point by point
            point("95", "4.84", good),  # out of range
            point("45.76", "200", good),
            point("nan", "4.84", good),
            point("45.76", "4.84", None),  # no time
            point("45.76", "4.84", "garbage"),
            point("45.76", "4.84", "1970-01-01T00:00:00Z"),  # receiver without a fix
            point("45.7601", "4.8401", (T0 + timedelta(seconds=1)).isoformat()),
        ]
    )
    parsed = parse_track((HEAD + body + TAIL).encode(), TrackFormat.GPX)
    assert len(parsed.points) == 2 and parsed.dropped == 7
    assert any("invalid values" in text for text in parsed.anomalies)


def test_truncated_gpx_keeps_every_complete_point() -> None:
    whole = gpx(walk(T0, 20)).decode()
    cut = whole[: whole.index("</trkpt>", len(whole) // 2) + len("</trkpt>") + 7]  # mid-element
    parsed = parse_track(cut.encode(), TrackFormat.GPX)
    assert 8 <= len(parsed.points) <= 12 and any("not well-formed" in text for text in parsed.anomalies)


def test_out_of_order_and_duplicate_times() -> None:
    points = walk(T0, 5)
    shuffled = [points[3], points[0], points[1], points[1], points[5], points[2], points[4]]
    parsed = parse_track(gpx(shuffled), TrackFormat.GPX)
    assert [p.t for p in parsed.points] == sorted({p[0].timestamp() for p in points})
    assert parsed.dropped == 1 and "points out of time order (sorted)" in parsed.anomalies


def test_nmea_with_bad_checksums_void_fixes_and_noise() -> None:
    from vigie.sim.bodycam import _nmea_checksum

    rows = [(T0 + timedelta(seconds=s), 45.76 + s * 1e-5, 4.84, 1.0) for s in range(10)]
    text = _nmea(rows).splitlines()  # RMC then GGA for each second
    text[2] = text[2][:-2] + "00"  # second 1: both sentences with a wrong checksum
    text[3] = text[3][:-2] + "00"
    void_rmc = text[4][1:].split("*")[0].replace(",A,", ",V,", 1)  # second 2: a genuine void fix
    void_gga = text[5][1:].split("*")[0].replace(",1,08,", ",0,00,", 1)
    text[4], text[5] = f"${void_rmc}*{_nmea_checksum(void_rmc)}", f"${void_gga}*{_nmea_checksum(void_gga)}"
    text.insert(6, "garbage line")
    text.insert(7, "$GPRMC,xx,A,9999,N,,E,,,,,,*00")
    parsed = parse_track("\r\n".join(text).encode(), TrackFormat.NMEA)
    assert len(parsed.points) == 8, parsed
    assert parsed.dropped == 6
    assert abs(parsed.points[0].lat - 45.76) < 1e-6 and parsed.points[0].accuracy_m == 5.0


def test_format_is_guessed() -> None:
    assert guess_format("x.GPX", b"") is TrackFormat.GPX
    assert guess_format("x.nmea", b"<") is TrackFormat.NMEA
    assert guess_format(None, b"  <?xml") is TrackFormat.GPX
    assert guess_format(None, b"$GPRMC") is TrackFormat.NMEA


@hypothesis_settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=2000), nmea=st.booleans())
def test_random_bytes_never_crash(data: bytes, nmea: bool) -> None:
    parsed = parse_track(data, TrackFormat.NMEA if nmea else TrackFormat.GPX)
    assert all(-90 <= p.lat <= 90 and -180 <= p.lon <= 180 for p in parsed.points)


@hypothesis_settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5)),
            st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5)),
            st.integers(min_value=0, max_value=10_000),
        ),
        max_size=30,
    )
)
def test_kept_plus_dropped_is_every_point(rows: list[tuple[object, object, int]]) -> None:
    from xml.sax.saxutils import quoteattr

    base = datetime(2026, 1, 1, tzinfo=UTC)
    body = "".join(
        f"<trkpt lat={quoteattr(str(lat))} lon={quoteattr(str(lon))}><time>"
        f"{(base + timedelta(seconds=second)).isoformat()}</time></trkpt>"
        for lat, lon, second in rows
    )
    parsed = parse_track((HEAD + body + TAIL).encode(), TrackFormat.GPX)
    assert len(parsed.points) + parsed.dropped == len(rows)
    for p in parsed.points:
        assert -90 <= p.lat <= 90 and -180 <= p.lon <= 180
