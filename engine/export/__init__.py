"""The dream step as a feed-forward graph that computes its own gradient (see issue 4)."""
