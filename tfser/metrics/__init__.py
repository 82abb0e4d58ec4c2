"""Ground floor: pure metric functions on arrays (no tables, no models).

Classification (WA, UA, per-class recall, paper 000's F1, cross-entropy, confusion),
regression (CCC and its report), significance tests, and the one confusion-matrix figure
(plots). Training figures, label statistics and evaluation reports all count and draw
with these, so a number means the same thing everywhere.
"""
