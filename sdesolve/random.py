"""Random draws from one ``torch.Generator``, from one generator per sample, or from per-sample seed streams.

Three sources of randomness, accepted wherever a ``generator`` is:

* one ``torch.Generator`` (or ``None``: torch's default one) — the fastest; samples depend on the batch;
* a list of ``torch.Generator`` objects, one per batch item: sample ``i`` depends only on its own generator
  (one Python-level draw per sample and request — slow for large batches). CPU generators may feed a state on
  any device: the numbers are drawn on the CPU and copied, so a CUDA run sees the same noise as a CPU run;
* :class:`SeedStreams` (what :func:`seed_streams` and ``sample(..., seeds=...)`` make): a counter-based
  generator keyed by ``(seeds[i], draw, element)``, computed for the whole batch in a few vectorised integer
  operations on the state's device. Sample ``i`` depends only on ``seeds[i]`` — not on the batch size, its
  position, or the device (the integers are identical on CPU and CUDA; the normals agree to round-off);
* :class:`NativeDraws` (opt-in): one generator, but torch's own draw *in the working dtype*
  (``torch.randn(shape, dtype=x.dtype, generator=g)``, what k-diffusion's ``randn_like`` and torchsde's
  ``BrownianInterval`` draw) — the fastest source; a float32 and a float64 run from one seed then see different
  noise. The three sources above draw in float64 (below), so that they see the same noise to round-off.

The seed-stream scheme (:data:`NOISE_SCHEME`), with ``mix`` the SplitMix64 output function and ``γ`` its
increment (Steele, Lea & Flood 2014; every operation is on 64-bit words, wrapping)::

    mix(z):  z ^= z >> 30;  z *= 0xBF58476D1CE4E5B9;  z ^= z >> 27;  z *= 0x94D049BB133111EB;  z ^= z >> 31
    key_i        = mix(seeds[i] + γ)                the first SplitMix64 output of seeds[i]
    draw key     = mix(key_i + (j + 1) γ)           the (j+1)-th SplitMix64 output of key_i, for draw j = 0, 1, ...
    word e       = mix(draw key + (e + 1) γ)        the (e+1)-th SplitMix64 output of the draw key
    uniform      = v · 2⁻⁵³ + ½,  v = word >> 11     (arithmetic shift: v uniform on [-2⁵², 2⁵²)), 53 bits on [0, 1)
    normals      = Box–Muller on the words (e, e + P), P = ⌈m/2⌉:  r = √(-2 log(1 - u_e)),  θ = 2π(u_{e+P} - ½),
                   element e = r sin θ,  element e + P = r cos θ  (the last one dropped when m is odd)

Each request (one ``randn`` or ``rand`` call) is one draw ``j``; a request for ``m`` numbers per sample reads
words ``0 .. 2⌈m/2⌉ - 1`` (normals) or word 0 (one uniform); shifts are logical (on unsigned words) except where
marked. Each (sample, draw) is a SplitMix64 sequence from a 64-bit state, so two of them can overlap (share a
shifted run of words) only through a collision of 64-bit states: with ``N`` = samples × draws and ``L`` words per
draw the expected number of overlapping pairs is about ``N² L / 2⁶⁴`` — 0.07 for 10⁴ samples × 10³ draws of 12 288
numbers, 7 for 10⁵ samples (a shared run between two unrelated draws, not a repeated sample).
SplitMix64 passes BigCrush; the tests check moments, a Kolmogorov–Smirnov statistic and independence across
samples, draws and elements. A Philox4x32-10 written with the same torch integer operations (checked against the
Random123 known answers) took 6–9× the CPU time of these words (``python benchmarks/seeded_noise.py draw``), more
than a whole draw of normals costs, so it could not meet the budget of 1.2× one generator.

Every draw is made in float64 and then cast to the requested dtype: torch's generators give different streams for
float32 and float64 requests (CPU ``randn`` of 16 or more numbers, and ``rand`` always, consume the generator
differently), so drawing in the working dtype would make a float32 and a float64 run with the same seeds entirely
different. With one draw dtype, changing ``dtype`` changes round-off only: the uniforms are the same 53-bit numbers,
and for a float32 (or lower) result the Box–Muller functions run in float32 — the float64 draw to a few float32
ulps of the radius and angle (at most 7e-5 absolute at the 8.6σ tail, about 1e-7 on average), 2–4× cheaper.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import torch
from torch import Tensor

__all__ = [
    "NOISE_SCHEME",
    "Generators",
    "NativeDraws",
    "SeedStreams",
    "check_generators",
    "generators_from_seeds",
    "rand",
    "randn",
    "seed_streams",
]

DRAW_DTYPE = torch.float64  # every random number is drawn in this dtype, then cast

NOISE_SCHEME = "seed-streams-v1: two-level SplitMix64 keyed by (seed, draw, element), Box–Muller, float64"
"""The name of the per-sample noise scheme; a run started under another scheme draws different noise."""

_MASK64 = (1 << 64) - 1
_GAMMA = 0x9E3779B97F4A7C15
_MUL1 = 0xBF58476D1CE4E5B9
_MUL2 = 0x94D049BB133111EB


def _signed(v: int) -> int:
    """A 64-bit word as the int64 with the same bits."""
    v &= _MASK64
    return v - (1 << 64) if v >= 1 << 63 else v


def mix64(z: int) -> int:
    """SplitMix64's output function on a Python integer (the reference for the tensor version)."""
    z &= _MASK64
    z = ((z ^ (z >> 30)) * _MUL1) & _MASK64
    z = ((z ^ (z >> 27)) * _MUL2) & _MASK64
    return z ^ (z >> 31)


_GAMMA_S, _MUL1_S, _MUL2_S = _signed(_GAMMA), _signed(_MUL1), _signed(_MUL2)


def _mix_(z: Tensor) -> Tensor:
    """SplitMix64's output function on an int64 tensor, in place (``>>`` is arithmetic: mask for a logical shift)."""
    z ^= (z >> 30) & ((1 << 34) - 1)
    z *= _MUL1_S
    z ^= (z >> 27) & ((1 << 37) - 1)
    z *= _MUL2_S
    z ^= (z >> 31) & ((1 << 33) - 1)
    return z


class SeedStreams:
    """Per-sample random streams keyed by integer seeds (see the module docstring for the scheme).

    Pass it wherever a ``generator`` is accepted (``solve``, ``sample``, ``randn``/``rand``). Like a
    ``torch.Generator`` it advances: every request is a new draw, so reusing one object continues the streams;
    :meth:`reset` (or a new object) starts them again. ``draws`` is the number of requests served so far.
    """

    scheme = NOISE_SCHEME

    def __init__(self, seeds: Iterable[int]) -> None:
        seeds = list(seeds)
        if not seeds:
            raise ValueError("seeds is empty; give one integer seed per sample")
        for i, seed in enumerate(seeds):
            if isinstance(seed, bool) or not isinstance(seed, int):
                raise TypeError(f"seeds[{i}] must be an int, got {type(seed).__name__}")
            if not 0 <= seed < 2**64:  # -1 and 2**64 - 1 would silently share a stream
                raise ValueError(
                    f"seeds[{i}] must be an integer in [0, 2**64), got {seed}; reduce a larger seed first, e.g. "
                    "int.from_bytes(hashlib.sha256(str(seed).encode()).digest()[:8], 'little')"
                )
        self.seeds = tuple(seeds)
        self.draws = 0
        self._keys_cpu = torch.tensor([_signed(mix64(s + _GAMMA)) for s in self.seeds], dtype=torch.int64)
        self._keys: dict[torch.device, Tensor] = {}
        self._offsets: dict[tuple[int, torch.device], Tensor] = {}
        self._draw_keys: dict[torch.device, tuple[int, Tensor]] = {}  # (first draw, keys of the next draws)

    def __len__(self) -> int:
        return len(self.seeds)

    def __repr__(self) -> str:
        return f"SeedStreams({len(self.seeds)} seeds, draws={self.draws})"

    def reset(self) -> None:
        """Start every stream again from its first draw."""
        self.draws = 0

    def _device_keys(self, device: torch.device) -> Tensor:
        keys = self._keys.get(device)
        if keys is None:
            keys = self._keys[device] = self._keys_cpu.to(device)
        return keys

    def _element_offsets(self, count: int, device: torch.device) -> Tensor:
        """``(e + 1) γ`` for ``e < count``, cached per size and device."""
        offsets = self._offsets.get((count, device))
        if offsets is None:
            if len(self._offsets) > 16:
                self._offsets.clear()
            offsets = torch.arange(1, count + 1, dtype=torch.int64, device=device).mul_(_GAMMA_S)
            self._offsets[(count, device)] = offsets
        return offsets

    def _next_draw_keys(self, device: torch.device) -> Tensor:
        """The keys of draw ``j = self.draws``, ``mix(key + (j + 1) γ)`` per seed (then the streams advance). They
        are made for up to ``_KEY_BLOCK`` draws at once, as one ``(seeds, draws)`` block: one set of operations per
        block instead of per draw, and off the CPU each operation is a kernel launch."""
        j = self.draws
        self.draws += 1
        first, block = self._draw_keys.get(device, (0, None))
        if block is None or not first <= j < first + block.shape[1]:
            ahead = max(1, min(_KEY_BLOCK, _KEY_BLOCK_WORDS // len(self.seeds)))
            gammas = torch.arange(j + 1, j + 1 + ahead, dtype=torch.int64, device=device).mul_(_GAMMA_S)
            first, block = j, _mix_(self._device_keys(device)[:, None] + gammas)
            self._draw_keys[device] = (first, block)
        return block[:, j - first]

    def words(self, count: int, device: torch.device | str) -> Tensor:
        """The next draw: ``(len(seeds), count)`` random 64-bit words (int64) on ``device``."""
        device = torch.device(device)
        draw_keys = self._next_draw_keys(device)
        return _mix_(draw_keys[:, None] + self._element_offsets(count, device))

    def uniform(self, count: int, device: torch.device | str) -> Tensor:
        """The next draw as ``(len(seeds), count)`` float64 uniforms on ``[0, 1)`` (53 random bits each)."""
        return (self.words(count, device) >> 11).to(DRAW_DTYPE).mul_(2.0**-53).add_(0.5)

    def normal(
        self, count: int, device: torch.device | str, dtype: torch.dtype = DRAW_DTYPE, out: Tensor | None = None
    ) -> Tensor:
        """The next draw as ``(len(seeds), count)`` standard normals (Box–Muller on word pairs, in float64), cast to
        ``dtype``; ``out`` (contiguous, ``len(seeds) × count`` numbers of ``dtype`` on ``device``), when given,
        receives them and is returned reshaped (it only saves an allocation: the numbers do not depend on it).

        The uniforms are always formed from 53-bit words in float64; for a ``dtype`` of float32 or less the
        logarithm, square root, sine and cosine then run in float32 (2–4× faster than in float64): the result is the
        float64 draw to float32 round-off, so float32 and float64 runs still see the same noise to round-off.
        Radius and angle words are mixed in one pass and then handled as two contiguous blocks (transcendental
        functions on strided halves run at half speed); off the CPU every operation is a kernel launch, about 40
        per draw. On the CPU the batch is processed in blocks of rows of about ``_CPU_BLOCK`` words so that the
        temporaries stay in cache (a 256×3×64×64 draw is 3 million words); the numbers do not depend on the blocks.
        """
        device = torch.device(device)
        batch, pairs = len(self.seeds), (count + 1) // 2
        draw_keys = self._next_draw_keys(device)[:, None]
        offsets = self._element_offsets(2 * pairs, device)
        fits = (
            out is not None
            and 2 * pairs == count
            and out.numel() == batch * count
            and out.dtype == dtype
            and _on(out, device)
            and out.is_contiguous()
        )
        target = out.view(batch, count) if fits else torch.empty(batch, 2 * pairs, dtype=dtype, device=device)
        work = _work_dtype(dtype)
        rows = max(1, _CPU_BLOCK // (2 * pairs)) if device.type == "cpu" else batch
        for start in range(0, batch, rows):
            words = _mix_(draw_keys[start : start + rows] + offsets)  # radius words, then angle words
            radius_words, angle_words = words[:, :pairs], words[:, pairs:]
            # word >> 11 (arithmetic) is uniform on the integers [-2**52, 2**52): u = v·2⁻⁵³ + ½ is the 53-bit uniform
            radius = (radius_words >> 11).to(DRAW_DTYPE)
            radius.mul_(-(2.0**-53)).add_(0.5)  # 1 - u ∈ (0, 1], exact in float64
            radius = radius.to(work).log_().mul_(-2.0).sqrt_()  # √(-2 log(1 - u)) ≤ 8.6
            if work == DRAW_DTYPE:  # 2π(u - ½): a uniform angle on [-π, π)
                angle = (angle_words >> 11).to(work).mul_(2.0 * math.pi * 2.0**-53)
            else:  # the angle's leading 24 bits (exact in float32): the float64 angle to float32 round-off
                angle = (angle_words >> 40).to(work).mul_(2.0 * math.pi * 2.0**-24)
            block = target[start : start + rows]
            torch.mul(torch.sin(angle), radius, out=block[:, :pairs])  # elements e < P: r sin θ
            torch.mul(angle.cos_(), radius, out=block[:, pairs:])  # elements P + e: r cos θ
        if fits:
            return target
        result = target if 2 * pairs == count else target[:, :count]
        return result if out is None else out.view(batch, count).copy_(result)


_KEY_BLOCK = 64  # draws whose keys are made at once ...
_KEY_BLOCK_WORDS = 1 << 20  # ... and at most this many keys (seeds × draws) at once
_CPU_BLOCK = 1 << 17  # numbers per block of the CPU transforms (1 MiB of float64 or int64; a multiple of 16)


class NativeDraws:
    """One generator whose numbers are torch's own draws in the requested dtype: ``torch.randn(shape,
    generator=generator, dtype=dtype)`` (``torch.rand`` for uniforms) — opt in where speed matters more than
    dtype-invariant noise.

    The default sources draw every number in float64 and round it (a float32 run sees the noise of a float64 run
    to round-off); on the CPU that costs a scalar 53-bit uniform per number and an unfused transform, about 0.35×
    a cheap score's step on ``sdesolve bench``'s problem (docs/benchmarks.md, goal 7). This source costs what
    ``torch.randn`` in the working dtype costs, draws the numbers k-diffusion's ``torch.randn_like(x)`` draws from
    the same generator state, and gives up one guarantee: **a float32 and a float64 run from the same seed see
    different noise** (torch's generators consume their state differently per dtype), as they do in k-diffusion
    and torchsde. Samples depend on the batch, as with one plain generator. A CPU generator feeds a state on any
    device (drawn on the CPU, then copied); ``None`` is torch's default generator. Reusing the object continues
    the generator's stream.
    """

    __slots__ = ("generator",)

    def __init__(self, generator: torch.Generator | None = None) -> None:
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(
                f"NativeDraws(generator) takes one torch.Generator or None, got {type(generator).__name__}"
                + (
                    "; per-sample streams (a list of generators, SeedStreams) always draw in float64"
                    if isinstance(generator, (list, tuple, SeedStreams))
                    else ""
                )
            )
        self.generator = generator

    def __repr__(self) -> str:
        return f"NativeDraws({self.generator!r})"


Generators = torch.Generator | Sequence[torch.Generator] | SeedStreams | NativeDraws | None


def _where(generator: Generators, device: torch.device) -> torch.device:
    """Draw on the generators' device: CPU generators feed any device (the same numbers everywhere)."""
    first = generator if isinstance(generator, torch.Generator) else (generator[0] if generator else None)
    return torch.device("cpu") if first is not None and first.device.type == "cpu" else torch.device(device)


def _on(x: Tensor, device: torch.device) -> bool:
    """``x`` lives on ``device`` (``cuda`` without an index means any CUDA device)."""
    return x.device.type == device.type and (device.index is None or x.device.index == device.index)


def randn(
    shape: Sequence[int],
    generator: Generators,
    device: torch.device,
    dtype: torch.dtype,
    *,
    scratch: DrawScratch | None = None,
    out: Tensor | None = None,
) -> Tensor:
    """Standard normals of ``shape`` (``shape[0]`` is the batch with per-sample generators), drawn in float64
    (in ``dtype`` from :class:`NativeDraws`).

    ``scratch`` (a :class:`DrawScratch`, e.g. one per solve) keeps the CPU transform's work buffers from one draw to
    the next, and ``out`` (contiguous, ``shape``, ``dtype``, on ``device``) receives the numbers; both only save
    allocations — the numbers do not depend on them."""
    if out is not None and (
        tuple(out.shape) != tuple(shape)
        or out.dtype != dtype
        or not _on(out, torch.device(device))
        or not out.is_contiguous()
    ):  # copy_ would broadcast a smaller draw into a larger out: refuse instead
        raise ValueError(
            f"out must be a contiguous tensor of shape {tuple(shape)}, dtype {dtype}, on {torch.device(device)}; got "
            f"shape {tuple(out.shape)}, dtype {out.dtype}, on {out.device}"
            + ("" if out.is_contiguous() else ", not contiguous")
        )
    if isinstance(generator, SeedStreams):
        shape = tuple(shape)
        if not shape or shape[0] != len(generator):
            raise ValueError(f"a draw of shape {shape} from {len(generator)} seed streams: the batch must match")
        count = math.prod(shape[1:])
        drawn = generator.normal(count, device, dtype, out=out)  # fills out when given
        return drawn.reshape(shape) if out is None else out
    if isinstance(generator, NativeDraws):
        where = _where(generator.generator, device)
        if out is not None and _on(out, where):
            return torch.randn(tuple(shape), generator=generator.generator, dtype=dtype, device=where, out=out)
        drawn = torch.randn(tuple(shape), generator=generator.generator, dtype=dtype, device=where)
        return drawn.to(device=device, non_blocking=True) if out is None else out.copy_(drawn, non_blocking=True)
    where = _where(generator, device)
    if generator is None or isinstance(generator, torch.Generator):
        if where.type == "cpu":
            if out is not None and out.device.type != "cpu":
                return _into(_cpu_randn(tuple(shape), generator, dtype, scratch), out)
            return _cpu_randn(tuple(shape), generator, dtype, scratch, out).to(device=device, non_blocking=True)
        drawn = torch.randn(tuple(shape), generator=generator, device=where, dtype=DRAW_DTYPE)
    else:
        drawn = torch.stack(
            [torch.randn(tuple(shape[1:]), generator=g, device=where, dtype=DRAW_DTYPE) for g in generator]
        )
    if out is not None:  # one copy converts the dtype (and moves the numbers) into out: no intermediate tensor
        return out.copy_(drawn, non_blocking=True)
    return drawn.to(device=device, dtype=dtype, non_blocking=True)


def _into(x: Tensor, out: Tensor | None) -> Tensor:
    return x if out is None else out.copy_(x, non_blocking=True)


class DrawScratch:
    """Work buffers of the CPU transforms, kept from one draw to the next (one per solve: not for sharing between
    threads). A solve's draws all have one size, so reusing the buffers (and their views) replaces a dozen
    allocations per step — each a fresh run of pages for the kernel to fault in when the allocator has returned them
    — by none."""

    __slots__ = ("_plans",)

    def __init__(self) -> None:
        self._plans: dict[tuple[int, torch.dtype, torch.dtype], _BoxMuller] = {}

    def box_muller(self, count: int, work: torch.dtype, dtype: torch.dtype) -> _BoxMuller:
        """The transform of blocks of ``count`` uniforms (a multiple of 16) into ``dtype``, computed in ``work``."""
        key = (count, work, dtype)
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) > 8:
                self._plans.clear()
            plan = self._plans[key] = _BoxMuller(count, work, dtype)
        return plan


class _BoxMuller:
    """torch's CPU ``normal_fill_16`` on ``count`` uniforms (blocks of 16): ``out[j] = r cos θ``,
    ``out[j + 8] = r sin θ`` with ``r = √(-2 log(1 - u[j]))``, ``θ = 2π u[j + 8]`` — as vectorised tensor operations
    into buffers made once (the same operations, so the same bits, as allocating each intermediate)."""

    __slots__ = ("angle", "count", "dtype", "radius", "sine", "u", "u_angle", "u_radius", "work")

    def __init__(self, count: int, work: torch.dtype, dtype: torch.dtype) -> None:
        self.count, self.work, self.dtype = count, work, dtype
        self.u = torch.empty(count, dtype=DRAW_DTYPE)
        blocks = self.u.view(-1, 2, 8)
        self.u_radius, self.u_angle = blocks[:, 0], blocks[:, 1]
        self.radius, self.angle, self.sine = (torch.empty(count // 2, dtype=work).view(-1, 8) for _ in range(3))

    def __call__(self, out: Tensor) -> None:
        """Transform ``self.u`` into ``out`` (``count`` contiguous numbers of ``dtype``)."""
        radius, angle, sine = self.radius, self.angle, self.sine
        if self.work == DRAW_DTYPE:
            torch.neg(self.u_radius, out=radius).log1p_().mul_(-2.0).sqrt_()
            torch.mul(self.u_angle, 2.0 * math.pi, out=angle)
        else:  # 1 - u exact in float64 (u - 1 rounded to float32 is -(1 - u) rounded), the rest in float32
            torch.sub(self.u_radius, 1.0, out=radius).neg_().log_().mul_(-2.0).sqrt_()
            angle.copy_(self.u_angle).mul_(2.0 * math.pi)
        torch.sin(angle, out=sine)
        dst = out.view(-1, 2, 8)
        if self.dtype == self.work:  # the products go straight into the strided halves of the result
            torch.mul(angle.cos_(), radius, out=dst[:, 0])
            torch.mul(radius, sine, out=dst[:, 1])
        else:
            dst[:, 0].copy_(angle.cos_().mul_(radius))
            dst[:, 1].copy_(radius.mul_(sine))


_VECTORISE_FROM = 8192  # numbers per draw from which the vectorised float64 transform is faster than torch's


def _work_dtype(dtype: torch.dtype) -> torch.dtype:
    """float32 for results of float32 precision or less (float32, float16, bfloat16), float64 otherwise."""
    return torch.float32 if dtype.is_floating_point and torch.finfo(dtype).bits <= 32 else DRAW_DTYPE


def _cpu_randn(
    shape: tuple[int, ...],
    generator: torch.Generator | None,
    dtype: torch.dtype,
    scratch: DrawScratch | None = None,
    out: Tensor | None = None,
) -> Tensor:
    """``torch.randn(shape, generator=generator, dtype=float64)`` on the CPU, cast to ``dtype``: the same numbers
    (to the last bit or two of float64; to float32 round-off for a float32 ``dtype``, see the module docstring) and
    the same generator state afterwards, at a fraction of torch's cost.

    torch fills float64 normals with a scalar loop (``normal_fill``: 53-bit uniforms from the generator, then
    Box–Muller on blocks of 16, the last 16 recomputed from 16 fresh uniforms when the size is not a multiple of
    16); here the uniforms come from ``torch.rand`` (the same draws; tests/test_solve_loop.py checks it) and the
    transform runs vectorised. The uniforms are drawn block by block (``_RAND_BLOCK`` at a time, into one reused
    buffer that stays in cache): torch's CPU ``rand`` takes one 64-bit word per float64 number, in order, so the
    blocks draw exactly what one call would and leave the generator in the same state. Small draws (where a dozen
    tensor operations cost more than torch's loop; below 16 torch takes another path) are drawn by torch itself.
    """
    n = math.prod(shape)
    if n < _VECTORISE_FROM:
        small = torch.randn(shape, generator=generator, dtype=DRAW_DTYPE)
        return small.to(dtype) if out is None else out.copy_(small)
    scratch = DrawScratch() if scratch is None else scratch
    work = _work_dtype(dtype)
    full = n - n % 16
    if out is None:
        out = torch.empty(shape, dtype=dtype)
    flat = out.view(n)
    for start in range(0, full, _RAND_BLOCK):
        plan = scratch.box_muller(min(_RAND_BLOCK, full - start), work, dtype)
        torch.rand(plan.count, generator=generator, dtype=DRAW_DTYPE, out=plan.u)
        plan(flat[start : start + plan.count])
    if full != n:  # torch draws the n - full leftover uniforms, then 16 fresh ones for the last 16 numbers
        plan = scratch.box_muller(16, work, dtype)
        plan.u.copy_(torch.rand(n - full + 16, generator=generator, dtype=DRAW_DTYPE)[-16:])
        tail = torch.empty(16, dtype=dtype)
        plan(tail)
        flat[n - 16 :].copy_(tail)
    return out


_RAND_BLOCK = 1 << 16  # uniforms per block of the one-generator CPU draw (512 KiB of float64; a multiple of 16)


def rand(count: int, generator: Generators, device: torch.device, dtype: torch.dtype) -> Tensor:
    """``count`` uniforms on ``[0, 1)`` (one per sample from its own stream when per-sample), drawn in float64 (in
    ``dtype`` from :class:`NativeDraws`)."""
    if isinstance(generator, SeedStreams):
        if count != len(generator):
            raise ValueError(f"{count} uniforms from {len(generator)} seed streams: one per sample")
        return generator.uniform(1, device).reshape(count).to(dtype=dtype)
    if isinstance(generator, NativeDraws):
        where = _where(generator.generator, device)
        drawn = torch.rand(count, generator=generator.generator, device=where, dtype=dtype)
        return drawn.to(device=device, non_blocking=True)
    where = _where(generator, device)
    if generator is None or isinstance(generator, torch.Generator):
        out = torch.rand(count, generator=generator, device=where, dtype=DRAW_DTYPE)
    else:
        out = torch.cat([torch.rand(1, generator=g, device=where, dtype=DRAW_DTYPE) for g in generator])
    return out.to(device=device, dtype=dtype, non_blocking=True)


def seed_streams(seeds: Iterable[int]) -> SeedStreams:
    """Per-sample streams for ``seeds`` (integers in ``[0, 2**64)``): sample ``i`` depends only on ``seeds[i]``."""
    return SeedStreams(seeds)


def generators_from_seeds(seeds: Sequence[int], device: torch.device | str | None = None) -> SeedStreams:
    """The per-sample randomness for ``seeds``: :class:`SeedStreams` (the same numbers on every device, so
    ``device`` is not needed; it is accepted for older callers). For the former one-``torch.Generator``-per-seed
    streams, pass ``[torch.Generator().manual_seed(s) for s in seeds]`` as the generator."""
    return SeedStreams(seeds)


def check_generators(generator: Generators, batch: int, device: torch.device, name: str = "generator") -> None:
    """Raise a clear error unless ``generator`` is ``None``, a generator, or one generator per sample, on ``device``."""
    if generator is None:
        return
    if isinstance(generator, SeedStreams):
        if len(generator) != batch:
            raise ValueError(f"{name} holds {len(generator)} seed streams for a batch of {batch}; give one per sample")
        return
    if isinstance(generator, NativeDraws):
        if generator.generator is not None:
            check_generators(generator.generator, batch, device, f"{name}.generator")
        return
    gens = [generator] if isinstance(generator, torch.Generator) else generator
    if not isinstance(generator, torch.Generator):
        if not isinstance(generator, (list, tuple)):
            raise TypeError(
                f"{name} must be a torch.Generator, a list of them (one per sample), sdesolve.random.SeedStreams or "
                "sdesolve.random.NativeDraws, "
                f"got {type(generator).__name__}"
            )
        if len(gens) != batch:
            raise ValueError(f"{name} holds {len(gens)} generators for a batch of {batch}; give one per sample")
    for g in gens:
        if not isinstance(g, torch.Generator):
            raise TypeError(f"{name} must be a torch.Generator or a list of them, got an item {type(g).__name__}")
        if g.device.type not in ("cpu", device.type):
            raise ValueError(
                f"{name} is on device {g.device} but the state is on {device}; create it on the state's device "
                "(or on the CPU: CPU generators feed any device, identically)"
            )
