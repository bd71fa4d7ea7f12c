"""OpenAI content parts -> Vertex parts: text, images, audio and files. Nothing is ever fetched.

`data:` URIs become `inlineData`; `http(s)://` and `gs://` URLs become `fileData`, with the MIME type
taken from the file extension (Vertex requires one). An image's `detail` becomes a per-part
`mediaResolution` on Gemini 3; for older models the caller collects it for the request-level setting.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote_to_bytes, urlsplit

from .errors import InvalidRequestError
from .openai_types import AudioPart, FilePart, ImagePart, Model, RefusalPart, TextPart
from .vertex_types import Part

MIME_BY_EXTENSION = {
    "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif",
    "heic": "image/heic", "heif": "image/heif", "bmp": "image/bmp", "tif": "image/tiff", "tiff": "image/tiff",
    "pdf": "application/pdf", "txt": "text/plain", "md": "text/markdown", "html": "text/html", "htm": "text/html",
    "csv": "text/csv", "json": "application/json", "xml": "text/xml", "rtf": "text/rtf",
    "mp3": "audio/mpeg", "wav": "audio/wav", "flac": "audio/flac", "aac": "audio/aac", "ogg": "audio/ogg",
    "m4a": "audio/mp4", "opus": "audio/opus", "aiff": "audio/aiff", "weba": "audio/webm",
    "mp4": "video/mp4", "mov": "video/quicktime", "mpeg": "video/mpeg", "mpg": "video/mpeg", "webm": "video/webm",
    "avi": "video/x-msvideo", "flv": "video/x-flv", "wmv": "video/x-ms-wmv", "3gp": "video/3gpp", "mkv": "video/x-matroska",
}
AUDIO_MIME = {"mp3": "audio/mp3", "wav": "audio/wav", "pcm16": "audio/pcm", "m4a": "audio/mp4", "opus": "audio/opus"}
# OpenAI `detail` -> Vertex media resolution ("auto" leaves the model's default).
DETAIL_LEVELS = {"low": "MEDIA_RESOLUTION_LOW", "medium": "MEDIA_RESOLUTION_MEDIUM", "high": "MEDIA_RESOLUTION_HIGH"}
REMOTE_SCHEMES = ("http", "https", "gs")
_URLSAFE_TO_STANDARD = str.maketrans("-_", "+/")


class PartTranslator:
    """Translates the content parts of one request; remembers `detail`s for the request-level setting."""

    def __init__(self, per_part_resolution: bool) -> None:
        self.per_part_resolution = per_part_resolution
        self.details: set[str] = set()  # MEDIA_RESOLUTION_* levels asked for (request-level models)

    def parts(self, content: str | list[Model] | None, where: str) -> list[Part]:
        """All parts of a message's content; empty text dropped."""
        if isinstance(content, str):
            return [{"text": content}] if content else []
        out: list[Part] = []
        for index, part in enumerate(content or ()):
            translated = _PARTS[type(part)](self, part, f"{where}.content[{index}]")
            if translated is not None:
                out.append(translated)
        return out

    def _text(self, part: TextPart, where: str) -> Part | None:
        return {"text": part.text} if part.text else None

    def _refusal(self, part: RefusalPart, where: str) -> Part | None:
        return {"text": part.refusal} if part.refusal else None

    def _image(self, part: ImagePart, where: str) -> Part:
        translated = media_part(part.image_url.url, "image/jpeg", where)
        level = DETAIL_LEVELS.get((part.image_url.detail or "").lower())
        if level and self.per_part_resolution:
            translated["mediaResolution"] = {"level": level}
        elif level:
            self.details.add(level)
        return translated

    def _audio(self, part: AudioPart, where: str) -> Part:
        audio = part.input_audio
        fmt = audio.format.lower()
        data = _checked_base64(audio.data, where)
        return {"inlineData": {"mimeType": AUDIO_MIME.get(fmt, f"audio/{fmt}"), "data": data}}

    def _file(self, part: FilePart, where: str) -> Part:
        file = part.file
        if not file.file_data:
            raise InvalidRequestError(
                f"{where}: only inline files are supported (send 'file_data' as a data: URI, not 'file_id')",
                param=where,
            )
        default = mime_for_path(file.filename or "") or "application/pdf"
        if file.file_data.startswith("data:") or _scheme(file.file_data) in REMOTE_SCHEMES:
            return media_part(file.file_data, default, where)
        return {"inlineData": {"mimeType": default, "data": _checked_base64(file.file_data, where)}}


_PARTS = {
    TextPart: PartTranslator._text,
    RefusalPart: PartTranslator._refusal,
    ImagePart: PartTranslator._image,
    AudioPart: PartTranslator._audio,
    FilePart: PartTranslator._file,
}


def text_of(content: str | list[Model] | None) -> str:
    """The text of a message (system prompts, tool results, assistant turns): text parts joined."""
    if isinstance(content, str):
        return content
    return "\n".join(text for part in content or () if (text := _plain_text(part)))


def _plain_text(part: Model) -> str:
    if isinstance(part, TextPart):
        return part.text
    return part.refusal if isinstance(part, RefusalPart) else ""


def media_part(url: str, default_mime: str, where: str) -> Part:
    """A `data:` URI -> inlineData; an http(s)/gs URL -> fileData (MIME from its extension)."""
    if url.startswith("data:"):
        mime, data = _parse_data_uri(url, where)
        return {"inlineData": {"mimeType": mime, "data": data}}
    if _scheme(url) in REMOTE_SCHEMES:
        return {"fileData": {"mimeType": mime_for_path(urlsplit(url).path) or default_mime, "fileUri": url}}
    raise InvalidRequestError(
        f"{where}: media must be a data: URI or an http(s):// or gs:// URL (got {url[:40]!r})", param=where
    )


def mime_for_path(path: str) -> str | None:
    _, dot, extension = path.rpartition(".")
    return MIME_BY_EXTENSION.get(extension.lower()) if dot else None


def _scheme(url: str) -> str:
    scheme, sep, _ = url.partition("://")
    return scheme.lower() if sep else ""


def _parse_data_uri(uri: str, where: str) -> tuple[str, str]:
    header, comma, payload = uri.partition(",")
    if not comma:
        raise InvalidRequestError(f"{where}: malformed data: URI (no ',' before the data)", param=where)
    mime, *params = header[5:].split(";")
    if "base64" in params:
        return mime or "application/octet-stream", _checked_base64(payload, where)
    data = base64.b64encode(unquote_to_bytes(payload)).decode("ascii")  # percent-encoded text data
    return mime or "text/plain", data


def _checked_base64(data: str, where: str) -> str:
    """The payload as standard padded base64; URL-safe letters, line breaks and lost padding are mended."""
    for candidate in (data, _mended_base64(data)):
        try:
            if candidate and binascii.a2b_base64(candidate, strict_mode=True):
                return candidate
        except (binascii.Error, ValueError):
            continue
    raise InvalidRequestError(f"{where}: the media data is not valid base64", param=where)


def _mended_base64(data: str) -> str:
    mended = "".join(data.split()).translate(_URLSAFE_TO_STANDARD)
    return mended + "=" * (-len(mended) % 4)


def highest_level(levels: set[str]) -> str | None:
    """The request-level resolution for several `detail`s: the highest asked for."""
    for level in ("MEDIA_RESOLUTION_HIGH", "MEDIA_RESOLUTION_MEDIUM", "MEDIA_RESOLUTION_LOW"):
        if level in levels:
            return level
    return None

