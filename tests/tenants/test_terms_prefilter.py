"""The term lists' one-scan prefilter must never change what a message is read as."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.tenants.terms import CRISIS, NEED_HELP, VIOLENCE, TermList
from bot.tenants.typos import one_edit
from bot.tenants.wording import tokens

LISTS = (CRISIS, VIOLENCE, NEED_HELP)


def _reference(terms: TermList, text: str) -> str | None:
    """TermList.find without the prefilter: every pattern in file order, then typos."""
    toks = tokens(text)
    if not toks:
        return None
    joined = " ".join(t.folded for t in toks) + " "
    found = terms._first(joined)
    if found is not None or not terms.typos:
        return found
    long_words = {t.folded for t in toks if len(t.folded) >= 6 and t.folded.isalpha()}
    for term in terms._terms:
        if term.fuzzy_word and any(one_edit(w, term.fuzzy_word, substitution="any",
                                            deletion=True) for w in long_words):
            return term.term
    return None


@pytest.mark.parametrize("terms", LISTS, ids=lambda t: t.name)
def test_every_term_is_found_with_and_without_the_prefilter(terms: TermList) -> None:
    for term in terms.terms():
        text = f"hej {term.replace('*', 'x')} tak"
        assert terms.find(tokens(text)) == _reference(terms, text), term


_WORDS = st.sampled_from(sorted({w for t in LISTS for term in t.terms()
                                 for w in term.replace("*", "").split()} |
                                {"ikke", "jeg", "godt", "1", "hej", "ring", "mig", "varmen"}))


@given(st.lists(st.one_of(_WORDS, st.text(max_size=8)), max_size=8))
def test_any_message_reads_the_same_with_the_prefilter(words: list[str]) -> None:
    text = " ".join(words)
    for terms in LISTS:
        assert terms.find(tokens(text)) == _reference(terms, text)
