"""Which tasks a run can score on another file is declared (``seqkit.CorpusTask``), not probed:
every language model, classify and tag declare it; a task that does not is refused in one line."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

import seqkit
from seqkit.errors import DataError
from seqkit.runs.run import corpus_batches
from seqkit_plugins.char_lm import CharLM
from seqkit_plugins.classify import ClassifyTask
from seqkit_plugins.tag import TagTask


@pytest.mark.parametrize("task_class", [CharLM, ClassifyTask, TagTask])
def test_the_tasks_that_read_another_file_declare_it(task_class):
    assert issubclass(task_class, seqkit.CorpusTask)


def test_every_language_model_task_is_a_corpus_task():
    assert issubclass(seqkit.LanguageModelTask, seqkit.CorpusTask)


def test_a_task_that_reads_no_other_file_is_refused_naming_it():
    task = seqkit.make_task("adding", length=5, train_size=8)
    assert not isinstance(task, seqkit.CorpusTask)
    run = SimpleNamespace(task=task, path=Path("runs/a"), config={"task": {"name": "adding"}})
    with pytest.raises(DataError, match=r"--corpus is for a task .* trained task 'adding'"):
        corpus_batches(run, "other.txt", 4, None)


def test_a_corpus_task_must_give_corpus_batches():
    class Half(seqkit.CorpusTask):
        pass

    with pytest.raises(TypeError, match="corpus_batches"):
        Half()
