"""The official `openai` Python client against `vecsync serve`'s /v1/embeddings.

Driven by tests/server.rs (openai_python_client_gets_the_local_models_vectors):

    python3 tests/python/openai_client.py BASE_URL MODEL EXPECTED.json

EXPECTED.json holds {"texts": [...], "vectors": [[...], ...], "tokens": [...]}: what the
local model gives in-process. Checks float and base64 answers (explicit, and the client's
default, which asks for base64 and decodes it), usage, and OpenAI-shaped errors for a
wrong model, empty input and too many inputs. Prints "ok" last on success.
"""

import base64
import json
import struct
import sys

import openai
from openai import OpenAI

base_url, model, expected_path = sys.argv[1], sys.argv[2], sys.argv[3]
with open(expected_path) as f:
    expected = json.load(f)
texts, vectors, tokens = expected["texts"], expected["vectors"], expected["tokens"]
dims = len(vectors[0])

# No key is needed on loopback; the client insists on one, and sends it as a bearer.
client = OpenAI(base_url=base_url, api_key="not-needed", max_retries=0, timeout=120)


def close(got, want, what):
    assert len(got) == len(want) == dims, f"{what}: {len(got)} values, expected {dims}"
    # Floats travel as their shortest decimal form and base64 as raw f32: both exact.
    worst = max(abs(float(a) - float(b)) for a, b in zip(got, want))
    assert worst <= 1e-7, f"{what}: max difference {worst}"


def check(resp, what, fmt):
    assert resp.object == "list", what
    assert resp.model == model, f"{what}: model {resp.model!r}"
    assert len(resp.data) == len(texts), f"{what}: {len(resp.data)} items"
    for i, item in enumerate(resp.data):
        assert item.index == i and item.object == "embedding", f"{what}: item {i}"
        emb = item.embedding
        if fmt == "base64":
            assert isinstance(emb, str), f"{what}: expected a base64 string"
            raw = base64.b64decode(emb)
            emb = list(struct.unpack("<%df" % (len(raw) // 4), raw))
        close(emb, vectors[i], f"{what}[{i}]")
    assert resp.usage.prompt_tokens == sum(tokens), f"{what}: usage {resp.usage}"
    assert resp.usage.total_tokens == sum(tokens), f"{what}: usage {resp.usage}"


check(client.embeddings.create(model=model, input=texts, encoding_format="float"), "float", "float")
check(client.embeddings.create(model=model, input=texts, encoding_format="base64"), "base64", "base64")
# Default: the client asks for base64 and decodes it to floats.
check(client.embeddings.create(model=model, input=texts), "default", "float")

one = client.embeddings.create(model=model, input=texts[0])
assert len(one.data) == 1
close(one.data[0].embedding, vectors[0], "single string")
assert one.usage.prompt_tokens == tokens[0]


def expect_error(kind, status, param, code, **kwargs):
    try:
        client.embeddings.create(**kwargs)
    except kind as e:
        assert e.status_code == status, f"{kwargs}: status {e.status_code}"
        body = e.body
        assert isinstance(body, dict), f"{kwargs}: body {body!r}"
        assert set(body) == {"message", "type", "param", "code"}, f"{kwargs}: {body}"
        assert body["type"] == "invalid_request_error", body
        assert body["param"] == param, body
        assert body["code"] == code, body
        assert e.code == code and e.param == param, (e.code, e.param)
        return
    raise AssertionError(f"{kwargs}: no {kind.__name__}")


expect_error(openai.NotFoundError, 404, "model", "model_not_found", model="text-embedding-3-small", input="x")
expect_error(openai.BadRequestError, 400, "input", None, model=model, input=[])
expect_error(openai.BadRequestError, 400, "input", None, model=model, input="")
expect_error(openai.BadRequestError, 400, "input", None, model=model, input=["a"] * 2049)
expect_error(openai.BadRequestError, 400, "dimensions", None, model=model, input="a", dimensions=dims // 2)

print("ok")
