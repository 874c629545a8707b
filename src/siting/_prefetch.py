"""A cache-line prefetch hint for numba kernels (LLVM's ``llvm.prefetch``).

The scan's loads are random over tens of MB, one stop at a time; asking for the lines a
connection a few steps ahead will read lets those misses overlap instead of queueing. A
prefetch is only a hint: it never faults and never changes a result.
"""

from __future__ import annotations

from typing import Any

from llvmlite import binding as llvm
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["prefetch"]

# LLVM names the intrinsic by its pointer type: "p0" with opaque pointers (LLVM 15 on),
# "p0i8" before. Checked to compile to prefetcht0 with numba 0.60 (LLVM 14, the oldest
# pyproject allows) and 0.68 (LLVM 22).
_NAME = "llvm.prefetch.p0" if llvm.llvm_version_info[0] >= 15 else "llvm.prefetch.p0i8"


@intrinsic
def _prefetch(typingctx: Any, arr: Any, index: Any) -> Any:
    """Prefetch (for reading, into every cache level) the line of flat element ``index``."""
    sig = types.void(arr, index)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        array_type = signature.args[0]
        array = context.make_array(array_type)(context, builder, args[0])
        item = context.get_abi_sizeof(context.get_data_type(array_type.dtype))
        offset = builder.mul(args[1], ir.Constant(args[1].type, item))
        pointer = builder.bitcast(cgutils.pointer_add(builder, array.data, offset),
                                  ir.IntType(8).as_pointer())
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [pointer.type, i32, i32, i32]), _NAME)
        builder.call(fn, [pointer, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


prefetch: Any = _prefetch
"""The hint, for numba code only (mypy sees the intrinsic's own signature)."""
