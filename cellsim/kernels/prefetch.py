"""``prefetch``: ask the CPU to start loading an array element's cache line now.

A well-mixed tissue's event loop spends most of its time waiting for the record of a
random cell (beyond the caches at 1e6 cells and more). It draws the next event's uniforms
one event early, works out which cells they will pick, and prefetches their records while
it finishes the present event (``events.wellmixed_loop``; measured in
benchmarks/README.md). A prefetch is a hint: it changes no value, and a prefetched place
that turns out not to be used costs only the load.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def prefetch(typingctx, array, index):
    """Prefetch ``array[index]`` for reading, into every cache level (LLVM's
    ``llvm.prefetch``, locality 3). ``index`` must be within the array: no bounds check,
    no wraparound."""
    if not isinstance(array, types.Array) or not isinstance(index, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        ary = context.make_array(array_type)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(
            context, builder, array_type, ary, [args[1]], wraparound=False
        )
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
        # (address, read = 0, locality = 3: keep in every level, data cache = 1)
        builder.call(
            fn,
            [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)],
        )
        return context.get_dummy_value()

    return types.void(array, index), codegen
