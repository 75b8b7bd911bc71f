#!/usr/bin/python3
"""Reference values for tests/eval/self_bleu_test.cpp, from nltk's own BLEU.

Run with Debian's nltk (apt-get install python3-nltk; nltk 3.8 when the values were written):
    /usr/bin/python3 tests/eval/self_bleu_reference.py
Token lists are given already split (tokenize_13a has its own hand-worked tests), so the numbers
depend on nltk alone. Texts in the Self-BLEU groups are lowercase words and spaces only, where the
13a tokenizer is a plain whitespace split.

If sacrebleu 2.x is importable (e.g. PYTHONPATH pointing at its source tree), the GEM-variant
cases of the test are checked against sacrebleu.corpus_bleu as well; the test itself derives them
by hand from the formula.
"""
import nltk
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

SMOOTH = SmoothingFunction().method1


def bleu(hyp, refs, order):
    return sentence_bleu([r.split() for r in refs], hyp.split(),
                         weights=(1.0 / order,) * order, smoothing_function=SMOOTH)


def self_bleu(samples, order):
    scores = [bleu(s, samples[:i] + samples[i + 1:], order) for i, s in enumerate(samples)]
    return sum(scores) / len(scores)


SENTENCES = [  # (name, hypothesis, references, order)
    ("identical", "the cat sat on the mat", ["the cat sat on the mat"], 4),
    ("disjoint", "a b c d e", ["f g h i j"], 4),
    ("unigram_only", "a b c d", ["a x y z"], 4),
    ("shorter_than_order", "the cat", ["the cat sat on the mat"], 4),
    ("one_token", "cat", ["cat sat"], 4),
    ("clipping", "the the the the the the the",
     ["the cat is on the mat", "there is a cat on the mat"], 4),
    ("closest_length_tie_to_shorter", "a b c d e", ["a b c", "a b c d e f g"], 4),
    ("brevity_penalty", "a b c d", ["a b c d e f", "x a b c d e f g h"], 4),
    ("repeated_bigrams", "a b a b a b c", ["a b c a b", "b a b a"], 4),
    ("order_2", "the quick brown fox jumps", ["the quick red fox jumps high"], 2),
    ("order_3", "it is a guide to action", ["it is a guide to action that ensures",
                                            "it is the guiding principle"], 3),
    ("order_1", "a a b c", ["a b b"], 1),
    ("empty_hypothesis", "", ["a b c"], 4),
]

GROUPS = [  # (name, samples, order)
    ("varied", ["the cat sat on the mat", "a cat sat on a mat", "the dog ran in the park"], 4),
    ("with_duplicate", ["one two three four five", "one two three four five",
                        "one two three six seven", "eight nine"], 4),
    ("identical", ["same words here again", "same words here again", "same words here again"], 4),
    ("disjoint", ["alpha beta gamma", "delta epsilon zeta", "eta theta iota"], 4),
    ("order_2", ["x y z x y", "y z x", "z z z y"], 2),
]

print(f"# nltk {nltk.__version__}")
for name, hyp, refs, order in SENTENCES:
    print(f"{name}: {bleu(hyp, refs, order)!r}")
for name, samples, order in GROUPS:
    print(f"self_bleu {name}: {self_bleu(samples, order)!r}")
report = [self_bleu(samples, 4) for name, samples, order in GROUPS if order == 4]
print(f"report mean over the order-4 groups: {sum(report) / len(report)!r}")

try:
    import sacrebleu
except ImportError:
    sacrebleu = None
if sacrebleu is not None:
    print(f"# sacrebleu {sacrebleu.__version__}")
    for hyp, ref in [("the cat sat on the mat", "the cat is on the mat"),
                     ("a b c d e", "a b x d e f g"),
                     ("a b c", "a b c"),
                     ("a b c d", "x y z w"),
                     ("the the the the", "the cat")]:
        print(f"sacrebleu {hyp!r} vs {ref!r}: {sacrebleu.corpus_bleu([hyp], [[ref]]).score!r}")
    samples = ["a b c d e", "a b c d f", "a b x d e", "q r s t u"]
    gem = [sacrebleu.corpus_bleu([s], [samples[:i] + samples[i + 1:]]).score
           for i, s in enumerate(samples)]
    print(f"gem self-bleu {samples}: {sum(gem) / len(gem)!r} per sample {gem!r}")
