"""Every prompt form, read lazily, with problems at the file and line to fix."""

from __future__ import annotations

from typing import Any

from runner.manifest import Job
from tests.manifest.conftest import Workspace


def prompts_of(job: Job) -> list[tuple[str, str | None, dict[str, Any]]]:
    return [(p.text, p.prompt_id, dict(p.meta)) for p in job.prompts]


def test_strings_templates_and_explicit_entries(ws: Workspace) -> None:
    """Strings, a template's product in declared order with vars as meta, and {id, text, meta}."""
    job = ws.load(
        """\
        prompts:
          - "a white cat"
          - text: "a {animal} in {style} style"
            vars: {animal: [cat, fox], style: [watercolor, pixel art]}
            id: tpl
            meta: {set: 1}
          - {id: hero, text: "hero shot", meta: {label: 3}}
          - text: "{count} apples"
            vars: {count: 3}
        models: [dall-e-2]
        """
    )
    cat = {"animal": "cat", "set": 1}
    fox = {"animal": "fox", "set": 1}
    assert prompts_of(job) == [
        ("a white cat", None, {}),
        ("a cat in watercolor style", "tpl-0", {**cat, "style": "watercolor"}),
        ("a cat in pixel art style", "tpl-1", {**cat, "style": "pixel art"}),
        ("a fox in watercolor style", "tpl-2", {**fox, "style": "watercolor"}),
        ("a fox in pixel art style", "tpl-3", {**fox, "style": "pixel art"}),
        ("hero shot", "hero", {"label": 3}),
        ("3 apples", None, {"count": 3}),
    ]
    assert job.prompt_count == 7


def test_txt_file_relative_to_the_manifest(ws: Workspace) -> None:
    """A .txt file next to the manifest: one prompt per line, blanks and # lines skipped."""
    ws.write("jobs/prompts/a.txt", "# a comment\n  a red fox  \n\n#another\na blue bird\n")
    job = ws.load(
        """\
        prompts:
          - {file: prompts/a.txt, meta: {source: a}}
        models: [dall-e-2]
        """
    )
    assert prompts_of(job) == [
        ("a red fox", None, {"source": "a"}),
        ("a blue bird", None, {"source": "a"}),
    ]


def test_jsonl_file_fields_become_meta(ws: Workspace) -> None:
    """.jsonl: "prompt" is the text, "id" the prompt id, other fields meta over file meta."""
    ws.write(
        "jobs/p.jsonl",
        '{"prompt": "json one", "id": 7, "label": "x"}\n\n{"prompt": "json two", "batch": 2}\n',
    )
    job = ws.load(
        """\
        prompts:
          - {file: p.jsonl, meta: {batch: 1}}
        models: [dall-e-2]
        """
    )
    assert prompts_of(job) == [
        ("json one", "7", {"batch": 1, "label": "x"}),
        ("json two", None, {"batch": 2}),
    ]


def test_csv_file_columns_become_meta(ws: Workspace) -> None:
    """.csv: a `prompt` column, optional `id`, other columns meta; quoted newlines work."""
    ws.write(
        "jobs/p.csv",
        '\ufeffid,prompt,label\na,"csv one",1\n,,\nb,"csv\ntwo",2\n,"csv three",\n',
    )
    job = ws.load(
        """\
        prompts:
          - file: p.csv
        models: [dall-e-2]
        """
    )
    assert prompts_of(job) == [
        ("csv one", "a", {"label": "1"}),
        ("csv\ntwo", "b", {"label": "2"}),
        ("csv three", None, {"label": ""}),
    ]


def test_duplicate_prompts_are_skipped_with_a_warning(ws: Workspace) -> None:
    """The same text twice would be the same items: later copies are skipped and reported."""
    ws.write("jobs/a.txt", "a cat\na dog\na cat\n")
    job = ws.load(
        """\
        provider: sim
        prompts:
          - "a dog"
          - file: a.txt
        models: [dall-e-2]
        """
    )
    assert [p[0] for p in prompts_of(job)] == ["a dog", "a cat"]
    assert job.warnings == (
        "jobs/a.txt:2: duplicate prompt skipped (same text as jobs/job.yaml:3)",
        "jobs/a.txt:3: duplicate prompt skipped (same text as jobs/a.txt:1)",
    )
    assert job.count() == 2


def test_many_duplicates_are_summarised(ws: Workspace) -> None:
    """Past five, duplicate warnings become one count."""
    ws.write("jobs/a.txt", "same\n" * 8)
    job = ws.load("provider: sim\nprompts: [{file: a.txt}]\nmodels: [dall-e-2]\n")
    assert len(job.warnings) == 6
    assert job.warnings[-1] == "7 duplicate prompts skipped in all"


def test_bad_lines_in_prompt_files(ws: Workspace) -> None:
    """Bad JSON lines, rows without prompt, CSV without a prompt column: file:line problems."""
    ws.write("jobs/p.jsonl", '{"prompt": "ok"}\nnot json\n[1]\n{"prompt": "  "}\n')
    ws.write("jobs/q.csv", "id,text\n1,hello\n")
    ws.write("jobs/r.csv", "prompt\nfine\nx,y\n")
    text = """\
        prompts:
          - file: p.jsonl
          - file: q.csv
          - file: r.csv
        models: [dall-e-2]
        """
    assert ws.problems(text) == [
        "jobs/p.jsonl:2:1: prompts[0].file: not valid JSON: Expecting value: line 1 column 1 "
        "(char 0)",
        'jobs/p.jsonl:3:1: prompts[0].file: each line must be an object with a string "prompt"',
        "jobs/p.jsonl:4:1: prompts[0].file: empty prompt",
        "jobs/q.csv:1:1: prompts[1].file: needs a header row with a `prompt` column "
        "(columns: id, text)",
        "jobs/r.csv:3:1: prompts[2].file: 2 cells but the header has 1 columns",
    ]


def test_files_that_cannot_be_used(ws: Workspace) -> None:
    """A missing file or an unknown extension is a problem at the `file` value."""
    text = """\
        prompts:
          - file: missing.txt
          - file: data/prompts.xlsx
        models: [dall-e-2]
        """
    assert ws.problems(text) == [
        "jobs/job.yaml:2:11: prompts[0].file: jobs/missing.txt: no such file",
        "jobs/job.yaml:3:11: prompts[1].file: data/prompts.xlsx: prompt files must be "
        ".txt, .jsonl, .csv",
    ]


def test_non_utf8_line(ws: Workspace) -> None:
    """An undecodable line is reported by number; the others still count."""
    (ws.root / "jobs").mkdir()
    (ws.root / "jobs/a.txt").write_bytes(b"fine\n\xff\xfe bad\n")
    assert ws.problems("prompts: [{file: a.txt}]\nmodels: [dall-e-2]\n") == [
        "jobs/a.txt:2:1: prompts[0].file: not valid UTF-8"
    ]


def test_template_problems(ws: Workspace) -> None:
    """Undeclared placeholders, unused or empty vars and bad placeholders are problems."""
    text = """\
        prompts:
          - text: "a {animal} in {color}"
            vars: {animal: [cat], style: [x]}
          - text: "a {0} and {a.b}"
            vars: {}
          - text: "a {animal"
            vars: {animal: [cat]}
          - text: "a {animal}"
            vars: {animal: []}
        models: [dall-e-2]
        """
    assert ws.problems(text) == [
        "jobs/job.yaml:2:11: prompts[0].text: placeholder {color} is not declared in vars "
        "(declared: animal, style)",
        "jobs/job.yaml:3:27: prompts[0].vars.style: var `style` is not used in text, so every "
        "prompt would repeat",
        "jobs/job.yaml:4:11: prompts[1].text: placeholder {0} must be a var name, like {animal}",
        "jobs/job.yaml:4:11: prompts[1].text: placeholder {a.b} must be a var name, like {animal}",
        "jobs/job.yaml:6:11: prompts[2].text: bad placeholder (expected '}' before end of "
        "string); write {{ and }} for literal braces",
        "jobs/job.yaml:9:12: prompts[3].vars.animal: var `animal` has no values",
    ]


def test_empty_prompts(ws: Workspace) -> None:
    """Blank strings are problems; a job whose prompts are all empty files has none."""
    text = """\
        prompts:
          - "   "
          - {text: ""}
        models: [dall-e-2]
        """
    assert ws.problems(text) == [
        "jobs/job.yaml:2:5: prompts[0]: empty prompt",
        "jobs/job.yaml:3:12: prompts[1].text: must not be empty",
    ]
    ws.write("jobs/empty.txt", "# nothing yet\n")
    assert ws.problems("prompts: [{file: empty.txt}]\nmodels: [dall-e-2]\n") == [
        "jobs/job.yaml:1:10: prompts: no prompts: files and lists are all empty"
    ]


def test_problems_per_file_are_capped(ws: Workspace) -> None:
    """A file of bad lines shows twenty, then one line counting the rest."""
    ws.write("jobs/bad.jsonl", "nope\n" * 25)
    problems = ws.problems("prompts:\n  - file: bad.jsonl\nmodels: [dall-e-2]\n")
    assert len(problems) == 21
    assert problems[0] == (
        "jobs/job.yaml:2:11: prompts[0].file: 5 more problems in this prompt source are not shown"
    )
    assert problems[1].startswith("jobs/bad.jsonl:1:1: prompts[0].file: not valid JSON")
    assert problems[-1].startswith("jobs/bad.jsonl:20:1: prompts[0].file: not valid JSON")


def test_prompt_length_per_model(ws: Workspace) -> None:
    """Prompts over a model's limit are problems at the manifest node or the file line."""
    ws.write("jobs/long.txt", f"short\nalso short\n{'x' * 1001}\n{'y' * 4001}\n")
    text = f"""\
        prompts:
          - "{"z" * 1200}"
          - file: long.txt
        models: [dall-e-2, dall-e-3, gpt-image-1]
        """
    assert ws.problems(text) == [
        "jobs/job.yaml:2:5: prompts[0]: prompt is 1,200 characters; dall-e-2 takes at most 1,000",
        "jobs/long.txt:3:1: prompts[1].file: prompt is 1,001 characters; dall-e-2 takes at "
        "most 1,000",
        "jobs/long.txt:4:1: prompts[1].file: prompt is 4,001 characters; dall-e-2 takes at "
        "most 1,000, dall-e-3 takes at most 4,000",
    ]


def test_prompts_are_read_again_on_each_pass(ws: Workspace) -> None:
    """Iteration re-reads files: two passes give the same prompts, nothing is cached."""
    ws.write("jobs/a.txt", "one\ntwo\n")
    job = ws.load("prompts: [{file: a.txt}]\nmodels: [dall-e-2]\n")
    assert prompts_of(job) == prompts_of(job)
    (ws.root / "jobs/a.txt").write_text("one\ntwo\nthree\n", encoding="utf-8")
    assert [p[0] for p in prompts_of(job)] == ["one", "two", "three"]


def test_a_lone_surrogate_escape_is_a_problem_not_a_crash(ws: Workspace) -> None:
    """A JSON or YAML \\ud800 escape (no valid text) is a problem naming the line, in any form."""
    (ws.root / "jobs").mkdir()
    (ws.root / "jobs/p.jsonl").write_text(
        '{"prompt": "fine"}\n{"prompt": "a \\ud800 b"}\n{"prompt": "ok", "id": "x\\udfff"}\n'
    )
    manifest = 'prompts: [{file: p.jsonl}, "inline \\ud800"]\nmodels: [dall-e-2]\n'
    assert ws.problems(manifest) == [
        "jobs/job.yaml:1:28: prompts[1]: prompt holds a lone surrogate, not text",
        "jobs/p.jsonl:2:1: prompts[0].file: prompt holds a lone surrogate, not text",
        "jobs/p.jsonl:3:1: prompts[0].file: id holds a lone surrogate, not text",
    ]
