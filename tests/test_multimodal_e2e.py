"""End to end, media: images, audio and files from the official openai SDK, through the real proxy, into
the parts the strict Vertex emulator accepts. Remote URLs are handed to Vertex as `fileData`; the proxy
itself never downloads them."""

from __future__ import annotations

import base64
import io
import threading
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openai
import pytest
import requests
from conftest import API_KEY, accepted
from vertex_emulator import Reply

FLASH = "gemini-2.5-flash"
GEMINI3_FLASH = "gemini-3-flash-preview"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def wav_bytes() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x01" * 800)
    return buffer.getvalue()


def image(url: str, detail: str | None = None) -> dict:
    part = {"type": "image_url", "image_url": {"url": url}}
    if detail:
        part["image_url"]["detail"] = detail
    return part



def user_parts(emulator) -> list[dict]:
    return accepted(emulator)["contents"][-1]["parts"]


def ask(client, content, model: str = FLASH, **kwargs):
    return client.chat.completions.create(model=model, messages=[{"role": "user", "content": content}], **kwargs)


@pytest.fixture(scope="module")
def client(proxy):
    """One SDK client per module (building one takes ~70 ms); conftest's is per test."""
    return openai.OpenAI(base_url=proxy.url + "/v1", api_key=API_KEY, max_retries=0, timeout=30)


@pytest.fixture
def media_server():
    """A local web server that counts requests: the proxy must never fetch a client's media URL."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("content-type", "image/png")
            self.end_headers()
            self.wfile.write(PNG)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def test_image_data_uri_becomes_inline_data(client, emulator):
    reply = ask(client, [{"type": "text", "text": "what is in this picture?"},
                         image(f"data:image/png;base64,{b64(PNG)}")])
    assert reply.choices[0].message.content
    text, picture = user_parts(emulator)
    assert text == {"text": "what is in this picture?"}
    assert picture["inlineData"]["mimeType"] == "image/png"
    assert base64.b64decode(picture["inlineData"]["data"]) == PNG


def test_remote_image_urls_become_file_data_and_are_never_fetched(client, emulator, media_server):
    base, hits = media_server
    urls = {f"{base}/shots/cat.png": "image/png", "https://example.com/photos/dog.jpg": "image/jpeg",
            "gs://my-bucket/scans/bird.webp": "image/webp"}
    ask(client, [{"type": "text", "text": "compare these"}, *(image(url) for url in urls)])
    files = [p["fileData"] for p in user_parts(emulator) if "fileData" in p]
    assert files == [{"mimeType": mime, "fileUri": url} for url, mime in urls.items()]
    assert hits == [], "the proxy downloaded a client's media URL"


def test_bad_base64_is_a_400_naming_the_message(client, emulator):
    messages = [
        {"role": "system", "content": "Describe images."},
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "Send the picture."},
        {"role": "user", "content": [{"type": "text", "text": "here"}, image("data:image/png;base64,@@not base64@@")]},
    ]
    with pytest.raises(openai.BadRequestError) as error:
        client.chat.completions.create(model=FLASH, messages=messages)
    assert "messages[3]" in error.value.message and "base64" in error.value.message
    assert error.value.body["type"] == "invalid_request_error"
    assert not emulator.log, "a request with broken media must not reach Vertex"


def test_image_only_user_turn_gets_a_text_part(client, emulator):
    """Gemini wants text beside media in a user turn (litellm#5515)."""
    ask(client, [image(f"data:image/png;base64,{b64(PNG)}")])
    parts = user_parts(emulator)
    assert any("inlineData" in p for p in parts)
    assert any(p.get("text", "").strip() for p in parts)


def test_input_audio_becomes_inline_audio(client, emulator):
    audio = wav_bytes()
    ask(client, [{"type": "text", "text": "transcribe"},
                 {"type": "input_audio", "input_audio": {"data": b64(audio), "format": "wav"}}])
    [blob] = [p["inlineData"] for p in user_parts(emulator) if "inlineData" in p]
    assert blob["mimeType"] == "audio/wav" and base64.b64decode(blob["data"]) == audio


@pytest.mark.parametrize("file_data", [f"data:application/pdf;base64,{b64(PDF)}", b64(PDF)],
                         ids=["data_uri", "bare_base64"])
def test_pdf_file_part_becomes_inline_pdf(client, emulator, file_data):
    ask(client, [{"type": "text", "text": "summarize the report"},
                 {"type": "file", "file": {"filename": "report.pdf", "file_data": file_data}}])
    [blob] = [p["inlineData"] for p in user_parts(emulator) if "inlineData" in p]
    assert blob["mimeType"] == "application/pdf" and base64.b64decode(blob["data"]) == PDF


@pytest.mark.parametrize("model", [FLASH, GEMINI3_FLASH])
def test_image_detail_sets_a_media_resolution_vertex_accepts(client, emulator, model):
    ask(client, [{"type": "text", "text": "read the small print"},
                 image(f"data:image/png;base64,{b64(PNG)}", detail="high")], model=model)
    body = accepted(emulator)
    per_part = [p.get("mediaResolution") for p in body["contents"][-1]["parts"] if "inlineData" in p]
    request_level = body.get("generationConfig", {}).get("mediaResolution")
    if model.startswith("gemini-3"):  # Gemini 3 takes a resolution per part
        assert per_part == [{"level": "MEDIA_RESOLUTION_HIGH"}] and request_level is None
    else:  # earlier models only per request
        assert per_part == [None] and request_level == "MEDIA_RESOLUTION_HIGH"


def test_screenshot_in_a_tool_result_reaches_gemini3(client, emulator):
    """A browser tool returns a screenshot (the Cline/Roo pattern): it must follow the function responses
    in the same turn, and the request must pass Gemini 3's checks."""
    emulator.configure(signatures_whole_history=True)
    tools = [{"type": "function", "function": {"name": "screenshot", "parameters": {
        "type": "object", "properties": {"url": {"type": "string"}}, "required": ["url"]}}}]
    emulator.queue(Reply.function_call("screenshot", {"url": "http://localhost:3000/login"}))
    messages: list[dict] = [{"role": "user", "content": "does the login page look right?"}]
    call = client.chat.completions.create(model=GEMINI3_FLASH, tools=tools, messages=messages) \
        .choices[0].message.tool_calls[0]
    messages += [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": call.id, "type": "function", "function": {"name": "screenshot",
                                                              "arguments": call.function.arguments}}]},
        {"role": "tool", "tool_call_id": call.id, "content": [
            {"type": "text", "text": "Screenshot taken."}, image(f"data:image/png;base64,{b64(PNG)}")]},
    ]
    reply = client.chat.completions.create(model=GEMINI3_FLASH, tools=tools, messages=messages)
    assert reply.choices[0].message.content
    last = accepted(emulator)["contents"][-1]
    assert last["role"] == "user"
    [response] = [p["functionResponse"] for p in last["parts"] if "functionResponse" in p]
    assert response["name"] == "screenshot" and response["response"] == {"output": "Screenshot taken."}
    [screenshot] = [p["inlineData"] for p in last["parts"] if "inlineData" in p]
    assert base64.b64decode(screenshot["data"]) == PNG


def test_responses_shaped_input_image_and_file(proxy, emulator):
    """Cursor's Responses-shaped bodies carry `input_image` / `input_file` parts."""
    body = {"model": "vertex/gemini-2.5-flash", "input": [{"type": "message", "role": "user", "content": [
        {"type": "input_text", "text": "what changed?"},
        {"type": "input_image", "image_url": f"data:image/png;base64,{b64(PNG)}"},
        {"type": "input_file", "filename": "spec.pdf", "file_data": f"data:application/pdf;base64,{b64(PDF)}"}]}]}
    resp = requests.post(proxy.url + "/v1/chat/completions", json=body, timeout=30,
                         headers={"Authorization": f"Bearer {API_KEY}"})
    assert resp.status_code == 200 and resp.json()["object"] == "chat.completion"
    blobs = [p["inlineData"] for p in user_parts(emulator) if "inlineData" in p]
    assert [(b["mimeType"], base64.b64decode(b["data"])) for b in blobs] == [("image/png", PNG),
                                                                            ("application/pdf", PDF)]
