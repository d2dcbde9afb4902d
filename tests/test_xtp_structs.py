"""
The ctypes layouts of L{ofx.backends.xtp.structs} and the vtable slot tables
of L{ofx.backends.xtp.api} against what g++ makes of the SDK headers.

The SDK is found through the environment variable C{OFX_XTP_SDK}, else in
C{sdk/} under the repository root (where C{python -m ofx sdk fetch --dest sdk}
puts it); without it, or without g++, these tests skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

from twisted.trial.unittest import SkipTest, TestCase

from ofx.backends.xtp import api, structs

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SKIP_SDK = "XTP SDK not found: run python -m ofx sdk fetch"


def sdk_dir() -> str:
    """The test SDK directory, or raise L{SkipTest} with one clear line."""
    directory = os.environ.get("OFX_XTP_SDK") or os.path.join(REPO, "sdk")
    try:
        api.find_sdk(directory)
    except api.SDKNotFound:
        raise SkipTest(SKIP_SDK) from None
    return directory


def compile_and_run(source: str, include: str) -> str:
    """Compile C{source} with g++ against the SDK headers, run it, return its output."""
    gxx = shutil.which("g++")
    if gxx is None:
        raise SkipTest("g++ not found: cannot probe the SDK headers")
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.cpp")
        exe = os.path.join(tmp, "probe")
        with open(src, "w", encoding="utf-8") as f:
            f.write(source)
        subprocess.run(
            [gxx, "-std=c++11", "-w", "-I", include, "-o", exe, src],
            check=True,
            capture_output=True,
        )
        return subprocess.run([exe], check=True, capture_output=True, text=True).stdout


def layout_probe() -> str:
    """C++ printing C{sizeof} of each probed struct and C{offsetof} of each field."""
    lines = [
        "#include <cstdio>",
        "#include <cstddef>",
        '#include "xtp/xtp_api_struct.h"',
        "int main() {",
    ]
    for cname, cls in structs.PROBED:
        lines.append(f'  std::printf("{cname} size %zu\\n", sizeof({cname}));')
        for field, _ in structs.field_offsets(cls):
            lines.append(f'  std::printf("{cname}.{field} %zu\\n", offsetof({cname}, {field}));')
    lines += ["  return 0;", "}"]
    return "\n".join(lines) + "\n"


def ctypes_layout() -> str:
    """The same lines as L{layout_probe} prints, from the ctypes classes."""
    import ctypes

    out = []
    for cname, cls in structs.PROBED:
        out.append(f"{cname} size {ctypes.sizeof(cls)}")
        out.extend(f"{cname}.{field} {offset}" for field, offset in structs.field_offsets(cls))
    return "\n".join(out) + "\n"


def vtable_probe() -> str:
    """
    C++ printing the vtable slot of every virtual method named in the binding's
    tables. Under the Itanium ABI a pointer to a virtual member function holds
    1 + the slot's byte offset in the vtable.
    """
    lines = [
        "#include <cstdio>",
        "#include <cstring>",
        "#include <cstdint>",
        '#include "xtp/xtp_trader_api.h"',
        '#include "xtp/xtp_quote_api.h"',
        "template <typename T> long slot(T pmf) {",
        "  std::uintptr_t word; std::memcpy(&word, &pmf, sizeof word);",
        "  return (word & 1) ? (long)((word - 1) / sizeof(void*)) : -1;",
        "}",
        "int main() {",
    ]
    for cls, names in api.VTABLES.items():
        for name in names:
            lines.append(f'  std::printf("{cls}.{name} %ld\\n", slot(&XTP::API::{cls}::{name}));')
        lines.append(f'  std::printf("{cls} size %zu\\n", sizeof(XTP::API::{cls}));')
    lines += ["  return 0;", "}"]
    return "\n".join(lines) + "\n"


def ctypes_vtables() -> str:
    """The lines L{vtable_probe} should print, from the binding's tables."""
    out: list[str] = []
    for cls, names in api.VTABLES.items():
        out.extend(f"{cls}.{name} {index}" for index, name in enumerate(names))
        out.append(f"{cls} size 8")
    return "\n".join(out) + "\n"


class LayoutTests(TestCase):
    """The ctypes structs match the SDK headers as g++ lays them out."""

    def test_sizes_and_offsets(self) -> None:
        """
        Every probed struct has the size g++ gives it, and every field
        (including members of anonymous unions) sits at g++'s offset.
        """
        include = os.path.join(sdk_dir(), "include")
        self.assertEqual(ctypes_layout(), compile_and_run(layout_probe(), include))

    def test_field_names_cover_records(self) -> None:
        """
        The record field names of L{ofx.xtp_types} are all fields of the
        matching struct, so conversion can read each one.
        """
        from ofx import xtp_types as t

        pairs = [
            (t.ORDER_INSERT_FIELDS, structs.XTPOrderInsertInfo),
            (t.ORDER_FIELDS, structs.XTPOrderInfo),
            (t.TRADE_FIELDS, structs.XTPTradeReport),
            (t.ASSET_FIELDS, structs.XTPQueryAssetRsp),
            (t.POSITION_FIELDS, structs.XTPQueryStkPositionRsp),
            (t.CANCEL_INFO_FIELDS, structs.XTPOrderCancelInfo),
            (t.MARKET_DATA_FIELDS, structs.XTPMarketDataStruct),
        ]
        for names, cls in pairs:
            fields = [name for name, _ in structs.field_offsets(cls)]
            self.assertEqual([n for n in names if n not in fields], [], cls.__name__)


class VtableTests(TestCase):
    """The binding's vtable tables list each class's virtuals in slot order."""

    def test_slots(self) -> None:
        """
        For TraderApi, QuoteApi, TraderSpi and QuoteSpi, the index of each
        method name in L{api.VTABLES} is the slot g++ assigns it, and the
        classes hold nothing but their vtable pointer.
        """
        include = os.path.join(sdk_dir(), "include")
        self.assertEqual(ctypes_vtables(), compile_and_run(vtable_probe(), include))

    def test_spi_tables_complete(self) -> None:
        """
        Every Spi slot has a C signature, so the ctypes Spi vtable gives each
        slot a callable of the right arity.
        """
        for cls in ("TraderSpi", "QuoteSpi"):
            self.assertEqual(len(api.SPI_SIGNATURES[cls]), len(api.VTABLES[cls]))


def signature_probe() -> str:
    """
    C++ printing, for every method with a signature in the binding's tables,
    its return and argument types in the binding's one-letter code.
    """
    lines = [
        "#include <cstdio>",
        "#include <cstdint>",
        "#include <string>",
        "#include <type_traits>",
        '#include "xtp/xtp_trader_api.h"',
        '#include "xtp/xtp_quote_api.h"',
        "template <class T> char code() {",
        "  typedef typename std::remove_cv<T>::type U;",
        "  if (std::is_same<U, char*>::value || std::is_same<U, const char*>::value) return 's';",
        "  if (std::is_pointer<U>::value) return 'P';",
        "  if (std::is_enum<U>::value || std::is_same<U, int32_t>::value) return 'i';",
        "  if (std::is_same<U, bool>::value) return 'b';",
        "  if (std::is_same<U, double>::value) return 'd';",
        "  if (std::is_same<U, uint8_t>::value) return 'B';",
        "  if (std::is_same<U, uint32_t>::value) return 'I';",
        "  if (std::is_same<U, int64_t>::value) return 'q';",
        "  if (std::is_same<U, uint64_t>::value) return 'Q';",
        "  if (std::is_void<U>::value) return 'v';",
        "  return '?';",
        "}",
        "template <class C, class R, class... A> std::string sig(R (C::*)(A...)) {",
        "  std::string s(1, code<R>()); s += ':';",
        "  const char args[] = {code<A>()..., '\\0'}; s += args; return s;",
        "}",
        "int main() {",
    ]
    for cls, table in signed_methods().items():
        for name in table:
            lines.append(f'  std::printf("{cls}.{name} %s\\n", sig(&XTP::API::{cls}::{name}).c_str());')
    lines += ["  return 0;", "}"]
    return "\n".join(lines) + "\n"


def signed_methods() -> dict[str, dict[str, str]]:
    """Every (class, method) the binding gives a C signature, with that signature."""
    result = {cls: dict(table) for cls, table in api.SIGNATURES.items()}
    for cls, sigs in api.SPI_SIGNATURES.items():
        result[cls] = dict(zip(api.VTABLES[cls], sigs, strict=False))
    return result


class SignatureTests(TestCase):
    """The binding's C signatures match the SDK's declarations."""

    def test_signatures(self) -> None:
        """
        Each method the binding calls, and every Spi slot it implements, takes
        and returns the C types g++ reads from the headers, so ctypes passes
        each argument in the right register.
        """
        include = os.path.join(sdk_dir(), "include")
        expected = "".join(
            f"{cls}.{name} {sig}\n" for cls, table in signed_methods().items() for name, sig in table.items()
        )
        self.assertEqual(expected, compile_and_run(signature_probe(), include))
