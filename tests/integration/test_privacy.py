"""Privacy law: replay every golden capture through collector and aggregator and scan
every byte they write — wire (sniffed on loopback), DuckDB file, logs, stdout and
stderr, the collector's metrics file and the aggregator's scraped metrics — for the IMSIs/SUPIs and MSISDNs tshark finds in the captures, in ASCII and
TBCD, and for the pseudonyms themselves.  Zero hits allowed."""

from __future__ import annotations

import urllib.request

import pytest

from tests.helpers import (
    Aggregator,
    capture_paths,
    free_port,
    is_root,
    needles,
    read_tree,
    run,
    scan,
    tsv_equipment,
    tsv_identities,
)
from wire.pseudonym import Pseudonymizer, load_key


@pytest.mark.skipif(not is_root(), reason="sniffing loopback needs root (CI runs as root)")
def test_no_identity_in_anything_written(tmp_path):
    from tests.sniff import LoopbackSniffer

    imsis, msisdns = tsv_identities()
    imeis = tsv_equipment()
    assert len(imsis) >= 40 and len(msisdns) >= 30 and len(imeis) >= 30
    for proto in ("S1AP", "NGAP", "GTPv2", "DIAMETER"):  # every decoder's input is scanned for
        assert tsv_identities(proto)[0], proto
    assert tsv_identities("GTPv2")[1] and tsv_identities("DIAMETER")[1]  # MSISDNs of both
    equipment = needles(imeis, kind=3) | needles({i for i in imeis if len(i) == 15}, kind=2)
    # positive control: the scanner finds the identities in the input, in every encoding
    found = scan({"in": b"".join(p.read_bytes() for p in capture_paths())},
                 needles(imsis) | needles(msisdns) | equipment)
    assert {hit.rsplit(" ", 1)[1] for hit in found} == {"ascii", "tbcd", "nas"}
    work = tmp_path / "work"
    work.mkdir()
    key = work / "collector.key"
    blobs = {"keygen": run("collector", "keygen", "--out", str(key)).stderr}
    metrics_port = free_port()
    agg = Aggregator(work / "agg.duckdb", None, "--metrics-listen", f"127.0.0.1:{metrics_port}")
    sniffer = LoopbackSniffer(agg.port)
    try:
        rep = run("collector", "replay", *map(str, capture_paths()), "--key-file", str(key),
                  "--aggregator", agg.endpoint, "--collector-id", "privacy",
                  "--metrics-file", str(work / "collector.prom"))
        scraped = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics",
                                         timeout=10).read()
    finally:
        wire = sniffer.stop()
        agg_out, agg_err = agg.stop()
    report = run("aggregator", "report", "--db", str(work / "agg.duckdb"), "--raw", "--k", "1",
                 "--format", "json")
    table = run("aggregator", "report", "--db", str(work / "agg.duckdb"), "--raw", "--k", "1",
                "--format", "table")
    blobs.update({"replay.stdout": rep.stdout, "replay.stderr": rep.stderr, "wire": wire,
                  "aggregator.stdout": agg_out, "aggregator.stderr": agg_err,
                  "report.json": report.stdout, "report.table": table.stdout,
                  "report.stderr": report.stderr + table.stderr,
                  "aggregator metrics": scraped})
    blobs.update({f"file:{k}": v for k, v in read_tree(work).items() if k != "collector.key"})
    assert len(wire) > 100 and b"privacy" in wire  # the sniffer did see the batches
    # the metrics were written and scraped, and count this run (scanned as file:collector.prom)
    col, agg_metrics = values(work / "collector.prom"), values(scraped)
    assert col['cellcensus_collector_messages_total{protocol="s1ap"}'] > 0
    sent = col["cellcensus_collector_batches_total"]
    assert sent > 0 and col['cellcensus_collector_batches_acknowledged_total{status="stored"}'] \
        == sent == agg_metrics["cellcensus_aggregator_batches_stored_total"]

    pseudo = Pseudonymizer(load_key(str(key)))
    pseudonyms = {}
    for imsi in imsis:
        p = pseudo(imsi)
        pseudonyms[f"{p:016x}".encode()] = "pseudonym hex"
        pseudonyms[p.to_bytes(8, "big")] = "pseudonym bytes"
        pseudonyms[p.to_bytes(8, "little")] = "pseudonym bytes (little endian)"
        pseudonyms[str(p).encode()] = "pseudonym decimal"
        pseudonyms[str(p - (1 << 64) if p >= 1 << 63 else p).encode()] = "pseudonym int64"
    hits = scan(blobs, needles(imsis) | needles(msisdns) | equipment | pseudonyms)
    assert hits == []


def values(text) -> dict[str, float]:
    """{sample as written (name and labels): value} of a Prometheus text (or its file)."""
    from prometheus_client.parser import text_string_to_metric_families

    text = text.read_text() if hasattr(text, "read_text") else text.decode()
    return {s.name + ("{" + ",".join(f'{k}="{v}"' for k, v in s.labels.items()) + "}"
                      if s.labels else ""): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_inspect_prints_pseudonyms_never_identities(tmp_path):
    imsis, msisdns = tsv_identities()
    msisdns |= tsv_equipment()
    out = run("collector", "inspect", *map(str, capture_paths()))
    assert out.stdout.count(b"\n") > 500
    assert b"fresh in-memory key" in out.stderr
    assert scan({"stdout": out.stdout, "stderr": out.stderr},
                needles(imsis) | needles(msisdns)) == []
