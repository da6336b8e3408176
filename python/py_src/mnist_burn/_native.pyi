"""Type stubs of the extension module (Rust, PyO3); the public API is the Python layer."""

from typing import Callable, List, Optional, Tuple

__version__: str

class ConfigError(ValueError):
    """A config (TOML file or ``set=`` override) that does not parse or validate."""

class EngineError(RuntimeError):
    """A failure of the training engine."""

def train(
    config: str,
    overrides: List[Tuple[str, str]],
    out: Optional[str] = None,
    epochs: Optional[int] = None,
    seed: Optional[int] = None,
    device: Optional[str] = None,
    resume: bool = False,
    force: bool = False,
    on_event: Optional[Callable[[str, str], object]] = None,
) -> str: ...

class NativeRun:
    def info_json(self) -> str: ...
    def evaluate(self, split: str = "test", mean_code: bool = False) -> str: ...
    def probabilities(self, images: bytes, n: int, dtype: str) -> Tuple[bytes, int]: ...
    def encode(self, images: bytes, n: int, dtype: str) -> Tuple[bytes, int]: ...
    def decode(self, codes: bytes, n: int, dim: int) -> bytes: ...
    def reconstruct(self, images: bytes, n: int, dtype: str) -> bytes: ...
    def export(self, out: str) -> List[str]: ...
    def report(self, manifold_range: float = 4.0, html: bool = True, tensorboard: bool = True) -> List[str]: ...

def load_run(dir: str, checkpoint: str = "last", device: Optional[str] = None) -> NativeRun: ...
def cli_eval_json(dir: str) -> str: ...
def sweep(
    spec: str,
    python: str,
    out: Optional[str] = None,
    jobs: int = 1,
    force: bool = False,
    max_trials: Optional[int] = None,
    on_line: Optional[Callable[[str], object]] = None,
) -> str: ...
def named_sets() -> List[str]: ...
def load_named_set(
    name: str, download: bool = True
) -> Tuple[Tuple[bytes, bytes], Tuple[bytes, bytes], Tuple[int, int, int], str]: ...
def prepare_digits(images: bytes, n: int, height: int, width: int, dtype: str, invert: Optional[bool] = None) -> bytes: ...
