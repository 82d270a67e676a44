"""Compares raw float32 logit files: `compare_logits.py ACTUAL EXPECTED TOLERANCE [VOCAB]`.

Fails (exit 1) when any value differs by more than TOLERANCE, or when a row's argmax differs (VOCAB given).
"""
import array
import sys


def read(path):
    values = array.array("f")
    with open(path, "rb") as f:
        values.frombytes(f.read())
    return values


actual, expected = read(sys.argv[1]), read(sys.argv[2])
tolerance = float(sys.argv[3])
vocab = int(sys.argv[4]) if len(sys.argv) > 4 else 0
if len(actual) != len(expected):
    sys.exit(f"{sys.argv[1]}: {len(actual)} values, expected {len(expected)}")
worst = max(abs(a - e) for a, e in zip(actual, expected))
if worst > tolerance:
    sys.exit(f"{sys.argv[1]}: max abs difference {worst:.3g} exceeds {tolerance}")
if vocab:
    for row in range(len(actual) // vocab):
        a, e = actual[row * vocab:(row + 1) * vocab], expected[row * vocab:(row + 1) * vocab]
        if a.index(max(a)) != e.index(max(e)):
            sys.exit(f"{sys.argv[1]}: row {row} argmax differs")
print(f"{sys.argv[1]}: max abs difference {worst:.3g} (tolerance {tolerance})")
