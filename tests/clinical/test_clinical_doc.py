"""docs/clinical.md carries the generated column and item tables of the code."""

from abm.clinical import docs


def test_clinical_doc_tables_are_current():
    assert docs.markdown() in docs.DOC.read_text(encoding="utf-8"), "docs/clinical.md is stale: run `make docs`"
