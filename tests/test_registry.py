from qaexport import exporters
from qaexport.exporters.anki import AnkiExporter
from qaexport.exporters.epub import EpubExporter
from qaexport.exporters.pdf import PdfExporter


def test_builtins_come_from_the_entry_point_group():
    found = exporters.registry()
    assert found == {"anki": AnkiExporter, "epub": EpubExporter, "pdf": PdfExporter}
    for name, cls in found.items():
        assert cls.name == name and cls.suffix.startswith(".") and cls.description and cls.__doc__


def test_unknown_exporter_lists_the_known_ones():
    import pytest

    from qaexport.errors import UsageError

    with pytest.raises(UsageError, match="known: anki, epub, pdf"):
        exporters.get("docx")
