"""Self-sufficient model directories: safetensors weights + one JSON of everything else.

A model directory holds exactly what is needed to rebuild and use a model, and loading
it unpickles nothing::

    model.safetensors   the state_dict (CPU tensors)
    heldout.safetensors (refitted models only) the early-stopped model the refit on
                        train + validation started from: evaluate calibrates on its
                        validation predictions (:func:`load_heldout`)
    model.json          format version, model config, vocabulary, label map,
                        training config, metrics, extra, torch version, and the
                        number of ensemble members (1 = a single model)

An :class:`~attnlib.ensemble.Ensemble` is saved the same way: its members' weights in the
one safetensors file under ``members.<k>.`` keys, ``"ensemble": N`` in the JSON.

Pickle checkpoints (``.pt``/``.pth``/``.pkl``) can run arbitrary code when loaded, so
:func:`load_model` refuses them outright and :func:`load_torch_weights` only accepts
what ``torch.load(weights_only=True)`` can read as a plain dict of tensors.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from attnlib.config import ModelConfig, validate
from attnlib.ensemble import Ensemble
from attnlib.errors import AttnlibError, ModelFileError
from attnlib.models import build_model
from attnlib.vocab import Vocabulary

FORMAT = "attnlib-model"
FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
HELDOUT_FILE = "heldout.safetensors"
META_FILE = "model.json"
PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin")


@dataclass
class ModelMeta:
    """Everything in ``model.json`` besides the weights."""

    model_config: ModelConfig
    vocab: Vocabulary | None = None
    label_map: dict | list | None = None  # as given to save_model (JSON round-trip)
    train_config: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    torch_version: str = ""
    format_version: int = FORMAT_VERSION
    ensemble: int = 1  # members of an attnlib.ensemble.Ensemble; 1 = a single model


def _cpu_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """Contiguous CPU copies safetensors accepts: tensors sharing storage are cloned."""
    out, seen = {}, set()
    for name, t in model.state_dict().items():
        t = t.detach().to("cpu").contiguous()
        ptr = t.untyped_storage().data_ptr()
        if ptr in seen and t.numel():
            t = t.clone()  # tied weights: safetensors refuses two names on one storage
        seen.add(ptr)
        out[name] = t
    return out


def _json_default(obj):
    if hasattr(obj, "item"):  # numpy / torch scalars in metrics
        return obj.item()
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def save_model(
    path: str | Path,
    model: nn.Module,
    *,
    vocab: Vocabulary | None = None,
    label_map: dict | list | None = None,
    train_config=None,
    metrics: dict | None = None,
    extra: dict | None = None,
    heldout: nn.Module | None = None,
) -> Path:
    """Write ``model`` as a model directory at ``path``, replacing an existing one.

    The directory is built in a temporary sibling and renamed into place, so ``path``
    never holds a half-written model. An existing model directory (or empty directory)
    is replaced; any other existing file or directory is left alone and refused.

    Args:
        path: target directory.
        model: a model with a ``config`` (:class:`ModelConfig`), as ``build_model`` makes,
            or an :class:`~attnlib.ensemble.Ensemble` of such models.
        vocab: the token vocabulary (token models); its size must match the config.
        label_map: class label <-> id mapping, any JSON value (dict or list).
        train_config: a ``TrainConfig`` or a dict.
        metrics, extra: JSON-serialisable dicts (numpy scalars are fine).
        heldout: with a refit, the early-stopped model it started from (same architecture
            and member count as ``model``), saved beside it as ``heldout.safetensors``.
    Returns:
        ``path`` as a Path.
    """
    path = Path(path)
    model = _alone(model)
    cfg = getattr(model, "config", None)
    if not isinstance(cfg, ModelConfig):
        raise TypeError("save_model needs a model with a ModelConfig at .config (see build_model)")
    if vocab is not None and cfg.input_kind == "tokens" and len(vocab) != cfg.vocab_size:
        raise ValueError(f"vocabulary has {len(vocab)} tokens but the model {cfg.vocab_size}")
    if path.exists() and not _replaceable(path):
        raise ModelFileError(f"{path}: exists and is not a model directory; refusing to replace it")
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_config": cfg.applicable_dump(),  # read back, the rest take their defaults
        "vocab": vocab.to_dict() if vocab is not None else None,
        "label_map": label_map,
        "train_config": train_config or {},
        "metrics": metrics or {},
        "extra": extra or {},
        "torch_version": torch.__version__,
        "ensemble": len(model) if isinstance(model, Ensemble) else 1,
    }
    text = json.dumps(meta, indent=2, sort_keys=True, ensure_ascii=False, default=_json_default)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(path, "tmp")
    try:
        save_file(_cpu_state(model), tmp / WEIGHTS_FILE, metadata={"format": "pt"})
        if heldout is not None:
            save_file(_cpu_state(_alone(heldout)), tmp / HELDOUT_FILE, metadata={"format": "pt"})
        (tmp / META_FILE).write_text(text + "\n", encoding="utf-8")
        _swap_into_place(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return path


def _alone(model: nn.Module) -> nn.Module:
    """A one-member Ensemble's member (the same model, saved as a single one)."""
    return model.members[0] if isinstance(model, Ensemble) and len(model) == 1 else model


def _sibling(path: Path, tag: str) -> Path:
    """A new empty hidden directory beside ``path``; unlike mkdtemp's 0700 it follows the umask."""
    sibling = path.with_name(f".{path.name}.{tag}-{uuid.uuid4().hex[:12]}")
    sibling.mkdir()
    return sibling


def _replaceable(path: Path) -> bool:
    return path.is_dir() and ((path / META_FILE).is_file() or not any(path.iterdir()))


def _swap_into_place(tmp: Path, path: Path) -> None:
    """Rename ``tmp`` onto ``path``; an old ``path`` is moved aside first and restored on failure.

    POSIX cannot rename a directory over a non-empty one, so there is a moment when
    ``path`` is absent; it never holds a mix of old and new files.
    """
    if not path.exists():
        os.replace(tmp, path)
        return
    old = _sibling(path, "old")
    os.replace(path, old)  # onto the empty placeholder dir: allowed
    try:
        os.replace(tmp, path)
    except BaseException:
        os.replace(old, path)
        raise
    shutil.rmtree(old, ignore_errors=True)


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, ModelMeta]:
    """Rebuild a model saved by :func:`save_model`; nothing is unpickled.

    Args:
        path: the model directory.
        device: where to put the model (weights are read on the CPU whatever device saved them).
    Returns:
        ``(model, meta)`` with the model in eval mode.
    Raises:
        ModelFileError: ``path`` is missing, a file (pickle checkpoints included), lacks
            ``model.json`` / ``model.safetensors``, or holds bad JSON, an unknown format
            version, an invalid config or weights that do not fit the config.
    """
    path = Path(path)
    meta = read_meta(path)
    return _build(path, meta, WEIGHTS_FILE).to(device).eval(), meta


def load_heldout(path: str | Path, device: str | torch.device = "cpu") -> nn.Module | None:
    """The early-stopped model a refitted model directory keeps (``heldout.safetensors``),
    in eval mode; None when the model was not refitted. Errors as :func:`load_model`."""
    path = Path(path)
    meta = read_meta(path)
    if not (path / HELDOUT_FILE).is_file():
        return None
    return _build(path, meta, HELDOUT_FILE).to(device).eval()


def _build(path: Path, meta: ModelMeta, weights: str) -> nn.Module:
    """The model ``meta`` describes, with the weights of ``path / weights``."""
    try:
        state = load_file(path / weights, device="cpu")
    except Exception as exc:  # safetensors raises its own error types for corrupt files
        raise ModelFileError(f"{path}: unreadable {weights} ({_first_line(exc)})") from None
    cfg = meta.model_config.model_copy(update={"input_init": ""})  # the weights below hold it
    if meta.ensemble > 1:
        model = Ensemble([build_model(cfg) for _ in range(meta.ensemble)])
    else:
        model = build_model(cfg)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelFileError(
            f"{path}: weights do not match the model config ({weights}: {_first_line(exc, skip=1)})"
        ) from None
    return model


def read_meta(path: str | Path) -> ModelMeta:
    """Read and check ``model.json`` of a model directory (see :func:`load_model` for errors)."""
    path = Path(path)
    if path.suffix.lower() in PICKLE_SUFFIXES and not path.is_dir():
        raise ModelFileError(
            f"{path}: pickle checkpoints are not loaded (they can run code); "
            f"expected a model directory with {META_FILE} and {WEIGHTS_FILE}"
        )
    if not path.exists():
        raise ModelFileError(f"{path}: no such model directory")
    if not path.is_dir():
        raise ModelFileError(f"{path}: is a file, not a model directory")
    missing = [f for f in (META_FILE, WEIGHTS_FILE) if not (path / f).is_file()]
    if missing:
        raise ModelFileError(f"{path}: not a model directory (missing {', '.join(missing)})")
    try:
        data = json.loads((path / META_FILE).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{path}: {META_FILE} is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ModelFileError(f"{path}: {META_FILE} is not an attnlib model description")
    if data.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: model format version {data.get('format_version')!r} is not supported "
            f"(this attnlib reads version {FORMAT_VERSION})"
        )
    try:
        cfg = validate(ModelConfig, data.get("model_config"), section="model_config")
        vocab = data.get("vocab")
        vocab = Vocabulary.from_dict(vocab, source=path / META_FILE) if vocab is not None else None
    except AttnlibError as exc:
        raise ModelFileError(f"{path}: {META_FILE}: {exc}") from None
    if vocab is not None and cfg.input_kind == "tokens" and len(vocab) != cfg.vocab_size:
        raise ModelFileError(f"{path}: vocabulary has {len(vocab)} tokens, model {cfg.vocab_size}")
    members = data.get("ensemble", 1)
    if not isinstance(members, int) or isinstance(members, bool) or members < 1:
        raise ModelFileError(f"{path}: {META_FILE}: 'ensemble' must be a member count >= 1")
    return ModelMeta(
        model_config=cfg,
        vocab=vocab,
        label_map=data.get("label_map"),
        train_config=data.get("train_config") or {},
        metrics=data.get("metrics") or {},
        extra=data.get("extra") or {},
        torch_version=str(data.get("torch_version", "")),
        format_version=FORMAT_VERSION,
        ensemble=members,
    )


def load_torch_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a state_dict from ``.safetensors``, or from a torch pickle only if it is plain tensors.

    Pickles are read with ``torch.load(weights_only=True)``, whose restricted unpickler
    refuses any class or function outside torch's tensor allow-list, so a crafted file
    is rejected before any of its code can run.

    Args:
        path: a ``.safetensors`` file or a ``.pt`` / ``.pth`` / ``.pkl`` file.
    Returns:
        ``{name: tensor}`` on the CPU.
    Raises:
        ModelFileError: missing file, unreadable or unsafe pickle, or anything other than
            a dict of str -> Tensor.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such weights file")
    try:
        if path.suffix.lower() == ".safetensors":
            obj = load_file(path, device="cpu")
        else:
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelFileError(
            f"{path}: refused: not a plain-tensor weights file ({_why(exc)})"
        ) from None
    if not isinstance(obj, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()
    ):
        raise ModelFileError(
            f"{path}: refused: expected a dict of name -> tensor, got {type(obj).__name__}"
        )
    return {k: v.detach() for k, v in obj.items()}


def _why(exc: BaseException) -> str:
    """Why a weights file failed to load, without torch's advice to load it unsafely."""
    found = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
    if found:
        return f"it references {found.group(1)}, which a tensor file never needs"
    if isinstance(exc, pickle.UnpicklingError):
        return "not a torch tensor pickle"
    return _first_line(exc)


def _first_line(exc: BaseException, skip: int = 0) -> str:
    """A one-line summary of an exception (torch messages span many lines)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return (lines[skip:] or lines or [type(exc).__name__])[0][:300]
