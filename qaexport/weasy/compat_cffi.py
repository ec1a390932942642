"""The C types a library names to cffi (WeasyPrint: ``compat.parse_types_ahead``), parsed in one pass as it loads
instead of one pass each as it meets them.

cffi turns a type string (``"PangoRectangle *"``) into a C type by running pycparser over the string *after a
prologue declaring every type name the library declared* (hundreds, for Pango, HarfBuzz and fontconfig): ~2.5 ms of
CPU for each new string, the prologue nearly all of it. A 9-page booklet meets ten such strings (font set-up, line
breaking, drawing, font subsetting), ~0.02 s of CPU, in the layout process the author's loop waits for. Parsed
together as the parameters of one declaration, they cost one prologue (:func:`parse_ahead`), and each is then found
in cffi's own cache of parsed types as if it had been parsed alone.

This reaches past cffi's public API (``FFI._parser``, ``_parsed_types``, ``_get_cached_btype``, ``_lock``;
``Parser._parse``, ``_get_type_and_quals``): it repeats, for each parameter of the one declaration, what
``FFI._typeof_locked`` does for the one parameter of its own, so it lives here alone and applies only to the cffi
releases whose ``api.py`` and ``cparser.py`` were read (:data:`TESTED`). Anywhere else, or when the one parse fails
(a type this WeasyPrint does not declare), nothing is cached ahead and each string is parsed when met, as before.
``tests/test_weasy_cffi.py`` checks that each type is the very C type cffi makes alone.
"""

from __future__ import annotations

from typing import Any

from .release import library_release as version

#: The cffi releases (major, minor) whose type parsing was read.
TESTED = ((2, 1),)


def applies(ffi: Any) -> bool:
    """Whether ``ffi`` is a cffi ``FFI`` of a release whose parsing was read, with the parts :func:`parse_ahead`
    uses."""
    try:
        release = tuple(int(part) for part in version("cffi").split(".")[:2])
    except (ImportError, AttributeError, ValueError):
        return False
    parser = getattr(ffi, "_parser", None)
    return (release in TESTED and isinstance(getattr(ffi, "_parsed_types", None), dict)
            and callable(getattr(ffi, "_get_cached_btype", None)) and hasattr(ffi, "_lock")
            and callable(getattr(parser, "_parse", None)) and callable(getattr(parser, "_get_type_and_quals", None)))


def parse_ahead(ffi: Any, cdecls: tuple[str, ...]) -> int:
    """Parse the type strings ``cdecls`` not parsed yet in one pycparser pass and put each in ``ffi``'s cache of
    parsed types, as ``FFI._typeof_locked`` would have; the number cached (0: nothing done, each is parsed when
    met)."""
    if not applies(ffi):
        return 0
    from pycparser import c_ast

    with ffi._lock:
        missing = [cdecl for cdecl in dict.fromkeys(cdecls) if cdecl not in ffi._parsed_types]
        if not missing:
            return 0
        parser = ffi._parser
        try:
            # cffi's own parse of one type: "void __dummy(\n%s\n);" % cdecl; here each type is a parameter
            ast, macros = parser._parse("void __dummy(\n" + ",\n".join(missing) + "\n);")[:2]
            parameters = ast.ext[-1].type.args.params
            if macros or len(parameters) != len(missing):
                return 0
            parsed = {}
            for cdecl, node in zip(missing, parameters, strict=True):
                if isinstance(node, c_ast.ID):  # an unknown name: cffi's own parse raises for it
                    return 0
                c_type = parser._get_type_and_quals(node.type)[0]
                really_a_function_type = c_type.is_raw_function
                if really_a_function_type:
                    c_type = c_type.as_function_pointer()
                parsed[cdecl] = (ffi._get_cached_btype(c_type), really_a_function_type)
        except Exception:  # any failure: nothing cached ahead, each type parsed alone when met, as before
            return 0
        ffi._parsed_types.update(parsed)
        return len(parsed)
