#!/usr/bin/env python3
"""Makes tests/data/reference_vectors.json: all-MiniLM-L6-v2 embeddings of ~20 varied
texts, computed by an implementation independent of vecsync's (candle) one.

The forward pass is written out here in plain numpy, in float64, one text at a time (no
padding, no batching): word pieces from the Hugging Face `tokenizers` package
(tokenizer.json, truncated to 256 tokens as sentence-transformers'
max_seq_length), the 6 BERT layers, mean pooling, L2 normalisation. That is what
sentence-transformers computes; `--check-sentence-transformers` also runs the same texts
through sentence-transformers (if it is installed) and reports the agreement.

Needs: pip install numpy safetensors tokenizers
Usage: scripts/fetch-model.sh && python3 scripts/make-reference-vectors.py
       [--model-dir models/all-MiniLM-L6-v2] [--out tests/data/reference_vectors.json]
"""

import argparse
import json
import math
import os
import sys

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_TOKENS = 256  # sentence_bert_config.json: max_seq_length, [CLS]/[SEP] included

LONG_POSTING = (
    "Senior Backend Engineer (Rust / PostgreSQL) at Northwind Logistics\n"
    "Rotterdam, Netherlands or remote within CET ± 2 hours\n\n"
    "About us: Northwind moves 40,000 containers a week across Europe, and our routing "
    "platform decides which truck, barge or train carries each one. We are a team of "
    "twelve engineers who own the platform end to end, from the event ingestion layer "
    "to the optimisation service and the dashboards our dispatchers use every day. "
    "What you will do: design and build services in Rust that process millions of "
    "tracking events per hour; evolve our PostgreSQL schema and keep query latency low "
    "as data grows; pair with dispatchers to understand their workflows; review code, "
    "mentor two junior engineers, and take part in a light on-call rotation (one week "
    "in six, with a paid stand-by allowance). What we are looking for: five or more "
    "years building production backend systems; solid experience with Rust or a strong "
    "background in C++, Go or Java and the wish to work in Rust; good knowledge of SQL, "
    "indexing, transactions and isolation levels; experience with message queues such "
    "as Kafka or NATS; the habit of writing tests, design documents and clear commit "
    "messages. Nice to have: operations research, geospatial data, Kubernetes, "
    "Terraform, observability with OpenTelemetry. What we offer: a salary between "
    "€85,000 and €105,000 depending on experience, 28 days of paid holiday, a yearly "
    "learning budget of €2,000, a new laptop of your choice, relocation support and "
    "a team that values calm, focused work over heroics. Our hiring process has four "
    "steps: a 30-minute call with the hiring manager, a take-home exercise (paid, about "
    "three hours), a technical conversation about your solution, and a meeting with two "
    "future colleagues. We answer every application within five working days. "
    "Northwind is an equal opportunity employer and welcomes applicants of every "
    "background, age, gender identity, sexual orientation and ability."
)

TEXTS = [
    "Hello world",
    "Kubernetes",
    "",
    "Data Engineer at Acme Analytics\nAustin, TX\n\nBuild and maintain batch and streaming "
    "pipelines with Spark, Airflow and dbt. 3+ years of Python and SQL required. "
    "Competitive salary, health insurance, 401(k) match.",
    "Registered Nurse – ICU (Night Shift) at St. Mary's Hospital\nBoston, MA\n\n"
    "Provide direct patient care in a 24-bed intensive care unit. BLS and ACLS "
    "certification required; CCRN preferred. Sign-on bonus available.",
    LONG_POSTING,
    "我们正在招聘一名高级软件工程师，负责分布式存储系统的设计与开发，工作地点在上海。",
    "東京オフィスでデータサイエンティストを募集しています。機械学習の実務経験が三年以上ある方。",
    "서울에서 근무할 프론트엔드 개발자를 찾고 있습니다. React 경험 필수.",
    "نبحث عن مهندس برمجيات ذي خبرة للانضمام إلى فريقنا في دبي. العمل عن بعد ممكن.",
    "אנחנו מחפשים מפתח/ת צד שרת לצוות שלנו בתל אביב.",
    "🚀 Join our team! 💼 Remote-friendly 🌍 #hiring 😀👩‍💻 Apply now ✅",
    "Développeur·se full-stack à Montréal — café, crème brûlée, naïve façade; Zürich, "
    "São Paulo, Kraków, Reykjavík.",
    "!!! ??? ... --- *** ;;; ()[]{} !?",
    "   data     engineer \t\t remote \n\n\n   full   time    ",
    "Salary: $120,000–$150,000/yr; SQL: SELECT * FROM jobs WHERE id = 42; email "
    "careers@example.com or visit https://example.com/jobs?id=123&ref=abc",
    "NURSE PRACTITIONER - NIGHT SHIFT - ICU - URGENT",
    "Softwareentwicklungsingenieurin für Kraftfahrzeugsteuerungssysteme gesucht",
    "Ищем опытного бухгалтера в московский офис, полная занятость.",
    "हम बेंगलुरु में एक अनुभवी डेवलपर की तलाश कर रहे हैं",
    "เรากำลังมองหาวิศวกรซอฟต์แวร์ที่กรุงเทพฯ",
    "zero\u200bwidth\u00a0space\u0007bell and a " + "x" * 150 + " very long word",
    # > 256 word pieces of CJK: each ideograph is its own token.
    "招聘" * 200,
    # > 256 word pieces of repeated phrase, mixed with numbers.
    " ".join(f"item-{i} (qty {i * 7 % 13})" for i in range(120)),
]


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


_erf = np.frompyfunc(math.erf, 1, 1)


def gelu(x):  # the exact (erf) GELU of BERT's "gelu"
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)).astype(np.float64))


def softmax(x):
    x = x - x.max(-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(-1, keepdims=True)


class NumpyMiniLM:
    def __init__(self, model_dir):
        with open(os.path.join(model_dir, "config.json")) as f:
            self.cfg = json.load(f)
        raw = load_file(os.path.join(model_dir, "model.safetensors"))
        # Some exports prefix every name with "bert."
        self.w = {k.removeprefix("bert."): v.astype(np.float64) for k, v in raw.items()}
        self.tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
        # tokenizer.json says truncate/pad to 128; sentence-transformers uses 256, unpadded.
        self.tok.enable_truncation(MAX_TOKENS)
        self.tok.no_padding()

    def linear(self, x, name):
        return x @ self.w[name + ".weight"].T + self.w[name + ".bias"]

    def embed(self, text):
        ids = np.array(self.tok.encode(text).ids)
        c, w = self.cfg, self.w
        eps = c["layer_norm_eps"]
        n = len(ids)
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:n]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        heads = c["num_attention_heads"]
        hd = c["hidden_size"] // heads
        for i in range(c["num_hidden_layers"]):
            p = f"encoder.layer.{i}."
            q, k, v = (
                self.linear(x, p + f"attention.self.{m}").reshape(n, heads, hd).transpose(1, 0, 2)
                for m in ("query", "key", "value")
            )
            att = softmax(q @ k.transpose(0, 2, 1) / math.sqrt(hd))
            ctx = (att @ v).transpose(1, 0, 2).reshape(n, heads * hd)
            x = layer_norm(
                self.linear(ctx, p + "attention.output.dense") + x,
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
                eps,
            )
            h = gelu(self.linear(x, p + "intermediate.dense"))
            x = layer_norm(
                self.linear(h, p + "output.dense") + x,
                w[p + "output.LayerNorm.weight"],
                w[p + "output.LayerNorm.bias"],
                eps,
            )
        pooled = x.mean(0)  # no padding here, so every token is a real one
        return pooled / max(np.linalg.norm(pooled), 1e-12), n


def sentence_transformer(model_dir, workdir):
    """A sentence-transformers model over the fetched files (also used by
    scripts/bench-local-model.sh). sentence-transformers wants the whole model folder
    (modules.json, the pooling config…): `workdir` gets the fetched files plus the
    model's standard module configuration."""
    import shutil
    from sentence_transformers import SentenceTransformer

    for f in ("model.safetensors", "tokenizer.json", "config.json"):
        shutil.copy(os.path.join(model_dir, f), workdir)

    def write(name, obj):
        os.makedirs(os.path.dirname(os.path.join(workdir, name)), exist_ok=True)
        with open(os.path.join(workdir, name), "w") as f:
            json.dump(obj, f)

    write("1_Pooling/config.json", {"word_embedding_dimension": 384, "pooling_mode_mean_tokens": True})
    write("sentence_bert_config.json", {"max_seq_length": MAX_TOKENS, "do_lower_case": False})
    write("modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    write("tokenizer_config.json", {"do_lower_case": True, "model_max_length": 512,
                                    "tokenize_chinese_chars": True, "strip_accents": None,
                                    "tokenizer_class": "BertTokenizer"})
    return SentenceTransformer(workdir, device="cpu")


def check_sentence_transformers(model_dir, vectors):
    import tempfile

    try:
        import sentence_transformers  # noqa: F401
    except ImportError:
        print("sentence-transformers not installed: skipping the cross-check", file=sys.stderr)
        return
    with tempfile.TemporaryDirectory() as d:
        got = sentence_transformer(model_dir, d).encode(TEXTS, batch_size=32)
    cos = [float(np.dot(a, b)) for a, b in zip(got, vectors)]
    diff = max(float(np.abs(a - b).max()) for a, b in zip(got, vectors))
    print(f"sentence-transformers vs numpy reference: min cosine {min(cos):.9f}, "
          f"max abs diff {diff:.2e}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model-dir", default=os.path.join(ROOT, "models", "all-MiniLM-L6-v2"))
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "reference_vectors.json"))
    ap.add_argument("--check-sentence-transformers", action="store_true")
    args = ap.parse_args()

    model = NumpyMiniLM(args.model_dir)
    rows, vectors = [], []
    for text in TEXTS:
        v, n = model.embed(text)
        vectors.append(v)
        rows.append({"text": text, "tokens": n, "vector": [float(f"{x:.9g}") for x in v]})
        print(f"{n:4d} tokens  {text[:50]!r}", file=sys.stderr)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        # One line per text, so a diff of this file shows which vectors changed.
        f.write("[\n" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n]\n")
    print(f"wrote {len(rows)} vectors to {args.out}", file=sys.stderr)
    if args.check_sentence_transformers:
        check_sentence_transformers(args.model_dir, vectors)


if __name__ == "__main__":
    main()
