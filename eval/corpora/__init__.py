"""Evaluation corpora: the BBC subset (news/), the SQuAD 2.0 slice (squad/) and their builders."""
