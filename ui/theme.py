"""One colour per meaning, on every chart of every page.

A student who has learnt that dev is red on one page reads it as red on all of them:
the loss curve itself is blue (finer means of it gray), train orange, dev red, test
purple, what is counted on all words gray, and reference lines (a lecture's number, a
baseline such as ln V or the bigram's loss) green first, then black, brown and teal.
"""

MINIBATCH = "#4c78a8"  # the minibatch loss, bucket means of lossi
FINER = "#c7c7c7"  # finer means of the same losses, behind it
TRAIN = "#f58518"
DEV = "#e45756"
TEST = "#b279a2"
ALL_WORDS = "#7f7f7f"  # part 1: counted and scored on all the words
SPLITS = {"train": TRAIN, "dev": DEV, "test": TEST, "all words": ALL_WORDS}
REFERENCES = ("#54a24b", "#222222", "#9d755d", "#72b7b2")  # dashed rules, in this order
RUNS = ("#4c78a8", "#72b7b2", "#9d755d", "#222222")  # several runs' curves side by side
