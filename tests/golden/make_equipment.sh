#!/usr/bin/env bash
# Rebuild tests/golden/captures/equipment.tsv: every IMEI / IMEISV / PEI that tshark
# reads in the golden captures (NAS, GTPv2 MEI, Diameter Terminal-Information / IMEI),
# so the privacy test can scan for them.  tshark 4.0.17 (Debian 12) made the stored file.
set -euo pipefail
cd "$(dirname "$0")/captures"
{
  printf 'capture\tfield\tvalue\n'
  for f in *.pcap *.pcapng; do
    for field in gsm_a.imeisv gsm_a.imei gtpv2.mei diameter.IMEI \
                 nas_5gs.mm.imeisv nas_5gs.mm.imei; do
      tshark -r "$f" -o nas-eps.null_decipher:TRUE -o nas-5gs.null_decipher:TRUE \
             -T fields -e "$field" 2>/dev/null | tr ',;' '\n\n' | sed '/^$/d' | sort -u \
        | while read -r v; do printf '%s\t%s\t%s\n' "$f" "$field" "$v"; done
    done
  done
} > equipment.tsv
