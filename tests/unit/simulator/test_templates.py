"""Templated encoding equals pycrate's: every template built for `tiny` (and for every byte
width of the S1AP UE ids) filled with random values gives pycrate's bytes for the same
message; a `tiny` capture with templates is byte-identical to one without; the batched
pcap writer (CRC32c by numpy) writes the bytes of the frame-at-a-time path."""

from __future__ import annotations

import random

import numpy as np
import pytest

from simulator import mobility as mob
from simulator import nas, population, signalling
from simulator.generate import generate
from simulator.messages import S1APMessages
from simulator.pcap import Host, PcapWriter, SCTPAssociation, UDPFlow, crc32c
from simulator.pcap_batch import crc32c_rows, write_messages
from simulator.templates import ENV, Digits, Templates, Uint, VarUint, locate
from tests.unit.simulator.conftest import SEED

SAMPLES = 25


@pytest.fixture(scope="module")
def tiny_templates(tiny):
    """The Templates object of one simulation of `tiny` (every kind its procedures use)."""
    templates = Templates(enabled=True)
    people = population.build(tiny, SEED)
    _tracks, phones = mob.plan(tiny, people, SEED)
    return templates, signalling.simulate(tiny, phones, SEED, templates)


def test_every_message_of_tiny_is_templated(tiny_templates):
    templates, messages = tiny_templates
    assert templates.counts["untemplatable"] == 0 and templates.counts["pycrate"] == 0
    assert templates.counts["templated"] > len(messages) // 2
    names = {kind.name for kind, _c, _s in templates.cached()}
    assert {"InitialUEMessage", "InitialUEMessage+S-TMSI", "UplinkNASTransport",
            "DownlinkNASTransport", "InitialContextSetupRequest+NAS", "Paging",
            "PathSwitchRequest", "NAS attach_imsi", "NAS attach_guti", "NAS tau_request",
            "NAS identity_response", "NAS detach"} <= names


def test_templates_equal_pycrate_on_random_values(tiny_templates):
    templates, _ = tiny_templates
    r = random.Random(5)
    for kind, consts, shapes in templates.cached():
        t = locate(kind, consts, shapes)
        assert t is not None, kind.name
        for _ in range(SAMPLES):
            values = tuple(f.sample(r, s) for f, s in zip(kind.fields, shapes, strict=True))
            assert t.fill(values) == kind.build(*consts, *values), (kind.name, consts)


@pytest.mark.parametrize("mme_width,enb_width", [(1, 1), (2, 2), (3, 3), (4, 1), (4, 3)])
def test_s1ap_equals_pycrate_at_every_id_width(tiny, mme_width, enb_width):
    """The public methods, templated and not, for UE ids of every APER octet count."""
    fast = S1APMessages(tiny.network, Templates(enabled=True))
    slow = S1APMessages(tiny.network, Templates(enabled=False))
    fnas, snas = nas.NASMessages(fast.templates), nas.NASMessages(slow.templates)
    r = random.Random(mme_width * 10 + enb_width)
    mme_f, enb_f = VarUint(4), VarUint(3)
    for _ in range(6):
        mme, enb = mme_f.sample(r, mme_width), enb_f.sample(r, enb_width)
        cell, key = r.choice(tiny.cells), r.getrandbits(256)
        ip = r.choice(tiny.enbs).ip
        imsi = Digits(1).sample(r, 15)
        guti = nas.Guti(tiny.network.plmn, r.getrandbits(16), r.getrandbits(8),
                        r.getrandbits(32))
        for name, args in [
                ("attach_request", (imsi,)), ("attach_request", (guti,)),
                ("attach_request", (imsi, 7, True)), ("attach_request", (guti, 1, True)),
                ("attach_accept", (guti, [cell.tac], tiny.network.t3412, r.randbytes(4))),
                ("identity_response_imeisv", (Digits(3).sample(r, 16),)),
                ("tau_request", (guti, cell.tac, r.random() < 0.5, 1)),
                ("tau_request", (guti, cell.tac, r.random() < 0.5, 1, True)),
                ("tau_accept", (guti.plmn, [cell.tac], tiny.network.t3412, guti)),
                ("tau_accept", (guti.plmn, [cell.tac], tiny.network.t3412, None)),
                ("service_request", (1, r.randrange(32))),
                ("detach_request_switch_off", (guti, 1))]:
            assert getattr(fnas, name)(*args) == getattr(snas, name)(*args), name
        payload = fnas.attach_request(imsi)
        for name, args in [
                ("initial_ue_message", (enb, payload, cell, "mo-Signalling")),
                ("initial_ue_message", (enb, payload, cell, "mt-Access", guti.mtmsi)),
                ("downlink_nas", (mme, enb, payload)),
                ("uplink_nas", (mme, enb, payload, cell)),
                ("initial_context_setup_request", (mme, enb, r.getrandbits(32), payload, key)),
                ("initial_context_setup_request", (mme, enb, r.getrandbits(32), None, key)),
                ("initial_context_setup_response", (mme, enb, ip)),
                ("path_switch_request", (enb, mme, cell, ip)),
                ("path_switch_request_acknowledge", (mme, enb, key)),
                ("location_reporting_control", (mme, enb)),
                ("location_report", (mme, enb, cell)),
                ("ue_context_release_request", (mme, enb)),
                ("ue_context_release_command", (mme, enb, ("nas", "detach"))),
                ("ue_context_release_command", (mme, enb, ("radioNetwork", "user-inactivity"))),
                ("ue_context_release_complete", (mme, enb)),
                ("paging", (imsi, guti.mtmsi, cell.tac))]:
            assert getattr(fast, name)(*args) == getattr(slow, name)(*args), name
    assert fast.templates.counts["untemplatable"] == 0


def test_a_field_that_cannot_be_located_is_left_to_pycrate():
    """A builder that hides a field (here: encodes it twice) gets no template."""
    from simulator.templates import Kind

    kind = Kind("twice", lambda v: v.to_bytes(2, "big") * 2, Uint(16))
    assert locate(kind, (), [None]) is None
    t = Templates(enabled=True)
    assert t.encode(kind, (), (0x1234,)) == b"\x12\x34\x12\x34"
    assert t.counts == {"templated": 0, "pycrate": 1, "templates": 0, "untemplatable": 1}


def test_tiny_capture_is_byte_identical_without_templates(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv(ENV, "on")
    generate(tiny, tmp_path / "on", SEED)
    monkeypatch.setenv(ENV, "off")
    generate(tiny, tmp_path / "off", SEED)
    for name in ("s1.pcap", "truth.json", "scenario.json"):
        assert (tmp_path / "on" / name).read_bytes() == (tmp_path / "off" / name).read_bytes()


def test_crc32c_rows_equals_crc32c():
    r = random.Random(3)
    rows = [r.randbytes(4 * r.randrange(0, 120)) for _ in range(2000)]
    crcs = crc32c_rows(b"".join(rows), np.array([len(x) for x in rows]))
    assert crcs.tolist() == [crc32c(x) for x in rows]
    with pytest.raises(ValueError):
        crc32c_rows(bytes(5), np.array([5]))


def _links():
    mme = Host(b"\x02\x00\x0a\x00\x00\x01", "10.0.0.1")
    s1 = {e: SCTPAssociation(Host(bytes([2, 0, 10, 1, 0, e]), f"10.1.0.{e}"), mme,
                             enb_tag=e * 77 | 1, mme_tag=e * 91 | 1, enb_tsn=e << 28,
                             mme_tsn=0xFFFFFFF0 + e) for e in (1, 2, 3)}
    s11 = UDPFlow(Host(b"\x02\x00\x0a\x00\x00\x02", "10.0.0.2", 2123),
                  Host(mme.mac, mme.ip, 2123), 0xFFF0)
    s6a = SCTPAssociation(Host(b"\x02\x00\x0a\x00\x00\x03", "10.0.0.3", 3868),
                          Host(mme.mac, mme.ip, 3868), enb_tag=5, mme_tag=7, enb_tsn=1,
                          mme_tsn=2)
    return s1, s11, s6a


def test_batched_writer_writes_the_frame_at_a_time_bytes(tiny_templates, tmp_path, monkeypatch):
    """`write_messages` (numpy over batches of messages) equals `frame`."""
    from simulator import pcap_batch

    monkeypatch.setattr(pcap_batch, "BATCH", 97)
    _templates, messages = tiny_templates
    messages = [m if m.link != "s1" else type(m)(m.t_us, 1 + m.enb % 3, m.uplink, m.stream,
                                                  m.name, m.payload, m.link) for m in messages]
    s1, s11, s6a = _links()
    with PcapWriter(str(tmp_path / "batched.pcap")) as w:
        assert write_messages(w, messages, s1, s11, s6a) == len(messages)
    s1, s11, s6a = _links()
    with PcapWriter(str(tmp_path / "single.pcap")) as w:
        for m in messages:
            if m.link == "s1":
                frame = s1[m.enb].frame(m.uplink, m.stream, m.payload)
            elif m.link == "s11":
                frame = s11.frame(m.uplink, m.payload)
            else:
                frame = s6a.frame(m.uplink, m.stream, m.payload, 46)
            w.write(m.t_us, frame)
    assert {m.link for m in messages} == {"s1", "s11", "s6a"}
    assert (tmp_path / "batched.pcap").read_bytes() == (tmp_path / "single.pcap").read_bytes()


def test_s11_and_s6a_templates_read_back_with_pycrate(tiny_templates):
    """S11 and S6a templates are filled from the hand-written builders: random fills of
    every one decode with pycrate, encode back to the same bytes, and carry the header ids
    (sequence number; hop-by-hop and end-to-end ids) they were given."""
    import pycrate_mobile.TS29274_GTPC as GTPC
    from pycrate_diameter.Diameter3GPP import Diameter3GPP

    templates, _ = tiny_templates
    r = random.Random(9)
    seen = set()
    for kind, consts, shapes in templates.cached():
        if not kind.name.startswith(("GTPv2", "S6a")):
            continue
        seen.add(kind.name.split()[0])
        for _ in range(SAMPLES):
            values = tuple(f.sample(r, s) for f, s in zip(kind.fields, shapes, strict=True))
            buf = templates.encode(kind, consts, values)
            if kind.name.startswith("GTPv2"):
                msg, err = GTPC.parse_GTPC(buf)
                assert err == 0 and msg.to_bytes() == buf, kind.name
                assert msg[0]["SeqNum"].get_val() == values[0]
            else:
                msg = Diameter3GPP()
                msg.from_bytes(buf)
                assert msg.to_bytes() == buf, kind.name
                assert (msg[0]["HHID"].get_val(), msg[0]["EEID"].get_val()) == values[:2]
    assert seen == {"GTPv2", "S6a"}


def test_below_draws_what_randrange_draws():
    from simulator.procedures import below

    for n in (1, 2, 3, 26_001, 1_000_000, 1 << 40):
        a, b = random.Random(n), random.Random(n)
        assert [below(a, n) for _ in range(500)] == [b.randrange(n) for _ in range(500)]
        assert [below(a, n) for _ in range(50)] == [b.randint(0, n - 1) for _ in range(50)]
