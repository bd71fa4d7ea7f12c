"""The Vertex `GenerateContentRequest` pieces the request translators emit (vertex-wire.md §1).

TypedDicts rather than pydantic models: the translators build plain JSON-ready dicts with camelCase
keys on the hot path (a 250 KB agent body must translate in about a millisecond), and these types
document and type-check those dicts at no runtime cost. Keys that would be `None` are never set.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

Role = Literal["user", "model"]


class Blob(TypedDict):
    mimeType: str
    data: str  # standard base64


class FileData(TypedDict):
    mimeType: str
    fileUri: str


class FunctionCall(TypedDict, total=False):
    name: str
    args: dict[str, Any]
    id: str  # v1beta1 only, Gemini 3


class FunctionResponse(TypedDict, total=False):
    name: str
    response: dict[str, Any]  # always an object: {"output": "..."}
    id: str  # v1beta1 only, Gemini 3


class MediaResolution(TypedDict):
    level: str  # MEDIA_RESOLUTION_LOW | _MEDIUM | _HIGH


class Part(TypedDict, total=False):
    text: str
    inlineData: Blob
    fileData: FileData
    functionCall: FunctionCall
    functionResponse: FunctionResponse
    thoughtSignature: str
    mediaResolution: MediaResolution  # per part, Gemini 3


class Content(TypedDict, total=False):
    role: Role
    parts: list[Part]


class FunctionDeclaration(TypedDict, total=False):
    name: str
    description: str
    parameters: dict[str, Any]  # OpenAPI-subset Schema (schema_mode "openapi")
    parametersJsonSchema: dict[str, Any]  # raw JSON Schema (default)


class Tool(TypedDict, total=False):
    functionDeclarations: list[FunctionDeclaration]
    googleSearch: dict[str, Any]


class FunctionCallingConfig(TypedDict, total=False):
    mode: Literal["AUTO", "ANY", "NONE", "VALIDATED"]
    allowedFunctionNames: list[str]


class ToolConfig(TypedDict):
    functionCallingConfig: FunctionCallingConfig


class ThinkingConfig(TypedDict, total=False):
    includeThoughts: bool
    thinkingBudget: int  # Gemini 2.5
    thinkingLevel: Literal["MINIMAL", "LOW", "MEDIUM", "HIGH"]  # Gemini 3


class GenerationConfig(TypedDict, total=False):
    temperature: float
    topP: float
    topK: int
    candidateCount: int
    maxOutputTokens: int
    stopSequences: list[str]
    presencePenalty: float
    frequencyPenalty: float
    seed: int
    responseMimeType: str
    responseSchema: dict[str, Any]
    responseJsonSchema: dict[str, Any]
    responseLogprobs: bool
    logprobs: int
    mediaResolution: str
    thinkingConfig: ThinkingConfig


class GenerateContentRequest(TypedDict, total=False):
    contents: list[Content]
    systemInstruction: Content
    tools: list[Tool]
    toolConfig: ToolConfig
    generationConfig: GenerationConfig
    safetySettings: list[dict[str, Any]]
    cachedContent: str
    labels: dict[str, str]
