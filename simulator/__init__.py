"""Synthetic city → S1-MME capture, reference data and truth (DESIGN.md, "Simulator").

scenario (TOML, validated) → population (people, phones) → mobility (true
timelines) → signalling (S1AP/NAS over time, via procedures and messages)
→ pcap (Ethernet/IPv4/SCTP); truth applies the presence rule to the true
timelines.  `simulator generate` writes the folder (see generate.py).
"""
