"""Synthetic city → MME capture, reference data and truth (DESIGN.md, "Simulator").

scenario (TOML, validated) → population (people, phones) → mobility (true
timelines) → signalling (S1AP/NAS over time, via procedures and messages,
with the S11 GTPv2-C and S6a Diameter they trigger, via mme_peers) → pcap
(Ethernet/IPv4/SCTP or UDP); truth applies the presence rule to the true
timelines.  `simulator generate` writes the folder (see generate.py).
"""
