"""Training the intent classifier: a linear support vector machine (scikit-learn's LinearSVC)
over the hashed n-grams of `features.py`, fitted on the intents' examples.

scikit-learn and SciPy add about 100 MB to a process, too much for the web service, so the
service never imports them: `trained_model` runs this module in a child process and reads
the weights back (a few MB of numpy arrays). A model is kept on disk under the hash of what
it was trained on, so a restart, a test run or a second worker with the same content reads
it in milliseconds instead of training again.

    python -m bot.understanding.train < matrix.npz > weights.npz   (what `trained_model` runs)
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from bot.understanding.features import Vocabulary, text_ids

VERSION = "svm-4"  # change when features or training change: old cached models are not used
C = 1.0  # LinearSVC's regularisation: measured 0.3 to 1.0 on the dev sets, 1.0 best
TOL = 1e-2  # LinearSVC's stopping tolerance: its default 1e-4, and 1e-3, gave the same accuracy, slower


@dataclass(frozen=True)
class Model:
    intents: tuple[str, ...]
    vocabulary: Vocabulary
    weights: np.ndarray  # (features, intents), float32
    bias: np.ndarray  # (intents,), float32

    def decision(self, text: str) -> np.ndarray:
        """The margin of each intent for a normalised text (positive: the model says yes)."""
        columns, values = self.vocabulary.vector(text)
        scores = values @ self.weights.take(columns, axis=0)  # take: the same rows, a third of the cost
        scores += self.bias
        return scores

    def save(self, path: Path) -> None:
        with open(path, "wb") as handle:
            np.savez(handle, intents=np.array(self.intents), ids=self.vocabulary.ids,
                     idf=self.vocabulary.idf, weights=self.weights, bias=self.bias)

    @classmethod
    def load(cls, path: Path) -> Model:
        with np.load(path) as data:
            return cls(tuple(str(i) for i in data["intents"]), Vocabulary(data["ids"], data["idf"]),
                       data["weights"], data["bias"])


def training_matrix(texts: list[str]) -> tuple[Vocabulary, dict[str, np.ndarray]]:
    """The vocabulary of the normalised texts, and their TF-IDF rows as the parts of a
    compressed sparse row matrix (data, indices, indptr), which needs no SciPy to build."""
    blocks = [text_ids(t) for t in texts]
    vocabulary = Vocabulary.fit(blocks)
    rows = [vocabulary.row(b) for b in blocks]
    return vocabulary, {
        "data": np.concatenate([values for _, values in rows]),
        # int32 columns: half the bytes to send to the child
        "indices": np.concatenate([columns for columns, _ in rows]).astype(np.int32),
        "indptr": np.r_[0, np.cumsum([len(columns) for columns, _ in rows])],
        "shape": np.array([len(texts), len(vocabulary.ids)]),
    }


def fit_svm(matrix: dict[str, np.ndarray], labels: list[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Intents, weights (features x intents) and biases. Imports scikit-learn: run it in a
    process of its own."""
    from scipy.sparse import csr_matrix
    from sklearn.svm import LinearSVC

    x = csr_matrix((matrix["data"], matrix["indices"], matrix["indptr"]), shape=tuple(matrix["shape"]))
    svm = LinearSVC(C=C, tol=TOL).fit(x, labels)
    weights, bias = svm.coef_.T.astype(np.float32), np.atleast_1d(svm.intercept_).astype(np.float32)
    if weights.shape[1] == 1:  # two classes: scikit-learn keeps one column, for the second
        weights, bias = np.hstack([-weights, weights]), np.r_[-bias, bias]
    return [str(c) for c in svm.classes_], np.ascontiguousarray(weights), bias


def cache_dir() -> Path:
    root = os.environ.get("BOT_MODEL_CACHE") or Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mehfooz" / "models"
    return Path(root)


def fingerprint(texts: list[str], labels: list[str]) -> str:
    data = json.dumps([VERSION, C, TOL, texts, labels], ensure_ascii=False).encode()
    return hashlib.sha256(data).hexdigest()[:32]


@lru_cache(maxsize=4)
def _trained(key: str, texts: tuple[str, ...], labels: tuple[str, ...]) -> Model:
    path = cache_dir() / f"{key}.npz"
    try:
        return Model.load(path)
    except (OSError, ValueError, KeyError):
        pass
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError:  # no writable cache: train into a temporary folder
        path = Path(tempfile.mkdtemp(prefix="mehfooz-model-")) / f"{key}.npz"
    model = _train_in_child(list(texts), list(labels))
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    model.save(partial)
    partial.replace(path)  # whole files only: another process may read it at the same moment
    return model


def _train_in_child(texts: list[str], labels: list[str]) -> Model:
    """The child starts first, so that it imports scikit-learn while this process builds the
    matrix; it gets the matrix on stdin and answers with the weights on stdout."""
    child = subprocess.Popen([sys.executable, "-m", "bot.understanding.train"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        vocabulary, matrix = training_matrix(texts)
        sent = io.BytesIO()
        np.savez(sent, labels=np.array(labels), **matrix)
        # Seconds; a benchmark's ten-fold intent set needs more than real content ever does.
        timeout = float(os.environ.get("BOT_TRAIN_TIMEOUT") or 120)
        answer, _ = child.communicate(sent.getvalue(), timeout=timeout)
    finally:
        if child.poll() is None:
            child.kill()
    if child.returncode != 0:
        raise RuntimeError(f"training the intent classifier failed (exit {child.returncode})")
    with np.load(io.BytesIO(answer)) as data:
        intents = tuple(str(i) for i in data["intents"])
        return Model(intents, vocabulary, data["weights"], data["bias"])


def trained_model(texts: list[str], labels: list[str]) -> Model:
    """The model for these examples: from memory, from the disk cache, or trained now with a
    child process (two seconds or so)."""
    return _trained(fingerprint(texts, labels), tuple(texts), tuple(labels))


def main() -> None:
    with np.load(io.BytesIO(sys.stdin.buffer.read())) as data:
        matrix = {name: data[name] for name in ("data", "indices", "indptr", "shape")}
        labels = [str(label) for label in data["labels"]]
    intents, weights, bias = fit_svm(matrix, labels)
    answer = io.BytesIO()
    np.savez(answer, intents=np.array(intents), weights=weights, bias=bias)
    sys.stdout.buffer.write(answer.getvalue())


if __name__ == "__main__":
    main()
