#!/usr/bin/env python3
"""Pick candidate request pairs for the labelled duplicate-detection set (`linli duplicates eval`).

Reads the Fuzhou 12345 sample (fuzhou12345_requests.csv, see the data README section 3c) and
prints the pairs a person or agent should then label by reading both texts. The labels are made
by that reading, not by this script; the score here only chooses which pairs to look at. The
labelled file (fixtures/duplicates-fuzhou12345.csv) holds source ids and labels only, never text.

A pair (a, b), a < b by source_id, is in the window when the two dates are at most 30 days apart
and the districts are equal or one of them is empty. Each pair in the window is scored by the
Jaccard similarity of the character bigrams of title + content, with everything but letters and
digits (whitespace, punctuation, symbols) removed first. The output is the 320 best-scoring
pairs (ties broken by a, then b) plus 120 pairs drawn uniformly at random (random.Random(12345))
from the other in-window pairs that score above zero, so the set also holds ordinary pairs.
These 440 pairs are the original set and their selection is unchanged.

A third, "hard" stratum follows, because the first two are dominated by near-copy floods (the
same complaint re-filed many times) and hold few hard negatives and few paraphrased positives.
From the in-window pairs not already selected, it draws 80 pairs from each of the score bands
[0.05, 0.15), [0.15, 0.30) and [0.30, 0.45), with its own random.Random(54321). The bands are
taken highest first ([0.30, 0.45), then [0.15, 0.30), then [0.05, 0.15)), because the cap below
binds hardest in the top band, where flood copies crowd in. Each band's pairs (sorted by a, then
b) are shuffled, and pairs are taken in shuffled order, skipping any pair that would make a
source_id appear more than 2 times within the hard stratum (the cap counts all three bands
together). A band with too few eligible pairs would give fewer than 80; on the current sample
each band gives 80, so the stratum has 240 pairs and the whole output 680.

Usage: duplicate-pairs.py PATH/TO/fuzhou12345_requests.csv > pairs.csv
Writes CSV `a,b` to stdout: the original pairs and the hard stratum together, sorted by a then b.
Standard library only.
"""

import csv
import datetime
import random
import sys
import unicodedata

WINDOW_DAYS = 30
TOP = 320
RANDOM = 120
SEED = 12345
HARD_BANDS = [(0.30, 0.45), (0.15, 0.30), (0.05, 0.15)]  # tightest band first
HARD_PER_BAND = 80
HARD_CAP = 2  # most times one source_id may appear within the hard stratum
HARD_SEED = 54321


def bigrams(text):
    kept = "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")
    return {kept[i:i + 2] for i in range(len(kept) - 1)}


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: duplicate-pairs.py PATH/TO/fuzhou12345_requests.csv")
    rows = []
    with open(sys.argv[1], newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            rows.append((
                int(r["source_id"]),
                datetime.date.fromisoformat(r["date"]),
                r["district"].strip(),
                bigrams(r["title"] + r["content"]),
            ))
    rows.sort(key=lambda r: r[0])

    scored = []  # (score, a, b)
    for i, (a, da, xa, ga) in enumerate(rows):
        for b, db, xb, gb in rows[i + 1:]:
            if abs((da - db).days) > WINDOW_DAYS:
                continue
            if xa and xb and xa != xb:
                continue
            union = len(ga | gb)
            score = len(ga & gb) / union if union else 0.0
            scored.append((score, a, b))

    scored.sort(key=lambda t: (-t[0], t[1], t[2]))
    top = scored[:TOP]
    rest = sorted((a, b) for s, a, b in scored[TOP:] if s > 0)
    drawn = random.Random(SEED).sample(rest, min(RANDOM, len(rest)))
    chosen = [(a, b) for _, a, b in top] + drawn

    taken = set(chosen)
    hard_rng = random.Random(HARD_SEED)
    uses = {}  # source_id -> appearances within the hard stratum
    hard = []
    for lo, hi in HARD_BANDS:
        band = sorted((a, b) for s, a, b in scored if lo <= s < hi and (a, b) not in taken)
        hard_rng.shuffle(band)
        got = 0
        for a, b in band:
            if got == HARD_PER_BAND:
                break
            if uses.get(a, 0) >= HARD_CAP or uses.get(b, 0) >= HARD_CAP:
                continue
            uses[a] = uses.get(a, 0) + 1
            uses[b] = uses.get(b, 0) + 1
            hard.append((a, b))
            got += 1

    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["a", "b"])
    for a, b in sorted(chosen + hard):
        out.writerow([a, b])


if __name__ == "__main__":
    main()
