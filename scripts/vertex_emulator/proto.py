"""Field tables for the Vertex AI request messages (proto3 JSON mapping).

Each message maps its proto (snake_case) field names to a ``Field``:
``kind`` is a scalar kind, ``"message"``, ``"map"``, ``"enum"``, ``"struct"``
(google.protobuf.Struct, any JSON object) or ``"value"`` (google.protobuf.Value,
any JSON); ``type`` names the message, enum or map value type; ``repeated`` marks
lists. Tables follow google/cloud/aiplatform/v1 (plus v1beta1 extras) as
summarised in vertex-wire.md; tool kinds the emulator never inspects are kept
as free structs so the emulator does not reject more than the real service.
"""

from __future__ import annotations

import functools
from typing import NamedTuple


class Field(NamedTuple):
    kind: str
    type: str | None = None
    repeated: bool = False


STRING, BOOL, BYTES = Field("string"), Field("bool"), Field("bytes")
INT32, INT64 = Field("int32"), Field("int64")
FLOAT, DOUBLE = Field("float"), Field("double")
STRUCT, VALUE, DURATION = Field("struct"), Field("value"), Field("duration")
STRINGS = Field("string", repeated=True)


def one(message: str) -> Field:
    return Field("message", message)


def many(message: str) -> Field:
    return Field("message", message, repeated=True)


def enum(name: str, *, repeated: bool = False) -> Field:
    return Field("enum", name, repeated)


def map_of(value_message: str | None = None) -> Field:
    """A ``map<string, X>``; ``None`` means string values."""
    return Field("map", value_message)


MESSAGES: dict[str, dict[str, Field]] = {
    "GenerateContentRequest": {
        "model": STRING,
        "contents": many("Content"),
        "system_instruction": one("Content"),
        "cached_content": STRING,
        "tools": many("Tool"),
        "tool_config": one("ToolConfig"),
        "labels": map_of(),
        "safety_settings": many("SafetySetting"),
        "model_armor_config": one("ModelArmorConfig"),
        "generation_config": one("GenerationConfig"),
    },
    "Content": {"role": STRING, "parts": many("Part")},
    "Part": {
        "text": STRING,
        "inline_data": one("Blob"),
        "file_data": one("FileData"),
        "function_call": one("FunctionCall"),
        "function_response": one("FunctionResponse"),
        "executable_code": one("ExecutableCode"),
        "code_execution_result": one("CodeExecutionResult"),
        "thought": BOOL,
        "thought_signature": BYTES,
        "video_metadata": one("VideoMetadata"),
        "media_resolution": one("PartMediaResolution"),
    },
    "Blob": {"mime_type": STRING, "data": BYTES, "display_name": STRING},
    "FileData": {"mime_type": STRING, "file_uri": STRING, "display_name": STRING},
    "FunctionCall": {
        "id": STRING,
        "name": STRING,
        "args": STRUCT,
        "partial_args": many("PartialArg"),
        "will_continue": BOOL,
    },
    "PartialArg": {
        "null_value": VALUE,
        "number_value": DOUBLE,
        "string_value": STRING,
        "bool_value": BOOL,
        "json_path": STRING,
        "will_continue": BOOL,
    },
    "FunctionResponse": {
        "id": STRING,
        "name": STRING,
        "response": STRUCT,
        "parts": many("FunctionResponsePart"),
    },
    "FunctionResponsePart": {"inline_data": one("Blob"), "file_data": one("FileData")},
    "ExecutableCode": {"language": STRING, "code": STRING},
    "CodeExecutionResult": {"outcome": STRING, "output": STRING},
    "VideoMetadata": {"start_offset": DURATION, "end_offset": DURATION, "fps": DOUBLE},
    "PartMediaResolution": {"level": STRING, "num_tokens": INT32},
    "Tool": {
        "function_declarations": many("FunctionDeclaration"),
        "retrieval": STRUCT,
        "google_search_retrieval": STRUCT,
        "google_search": STRUCT,
        "google_maps": STRUCT,
        "enterprise_web_search": STRUCT,
        "code_execution": STRUCT,
        "url_context": STRUCT,
        "computer_use": STRUCT,
    },
    "FunctionDeclaration": {
        "name": STRING,
        "description": STRING,
        "parameters": one("Schema"),
        "parameters_json_schema": VALUE,
        "response": one("Schema"),
        "response_json_schema": VALUE,
    },
    "ToolConfig": {"function_calling_config": one("FunctionCallingConfig"), "retrieval_config": STRUCT},
    "FunctionCallingConfig": {
        "mode": enum("Mode"),
        "allowed_function_names": STRINGS,
        "stream_function_call_arguments": BOOL,
    },
    "GenerationConfig": {
        "temperature": FLOAT,
        "top_p": FLOAT,
        "top_k": FLOAT,
        "candidate_count": INT32,
        "max_output_tokens": INT32,
        "stop_sequences": STRINGS,
        "response_logprobs": BOOL,
        "logprobs": INT32,
        "presence_penalty": FLOAT,
        "frequency_penalty": FLOAT,
        "seed": INT32,
        "response_mime_type": STRING,
        "response_schema": one("Schema"),
        "response_json_schema": VALUE,
        "routing_config": STRUCT,
        "audio_timestamp": BOOL,
        "response_modalities": enum("Modality", repeated=True),
        "media_resolution": enum("MediaResolution"),
        "speech_config": STRUCT,
        "thinking_config": one("ThinkingConfig"),
        "image_config": STRUCT,
        "enable_affective_dialog": BOOL,
        "model_config": STRUCT,
    },
    "ThinkingConfig": {"include_thoughts": BOOL, "thinking_budget": INT32, "thinking_level": enum("ThinkingLevel")},
    "SafetySetting": {
        "category": enum("HarmCategory"),
        "threshold": enum("HarmBlockThreshold"),
        "method": enum("HarmBlockMethod"),
    },
    "ModelArmorConfig": {"prompt_template_name": STRING, "response_template_name": STRING},
    "Schema": {
        "type": enum("Type"),
        "format": STRING,
        "title": STRING,
        "description": STRING,
        "nullable": BOOL,
        "default": VALUE,
        "items": one("Schema"),
        "min_items": INT64,
        "max_items": INT64,
        "enum": STRINGS,
        "properties": map_of("Schema"),
        "property_ordering": STRINGS,
        "required": STRINGS,
        "min_properties": INT64,
        "max_properties": INT64,
        "minimum": DOUBLE,
        "maximum": DOUBLE,
        "min_length": INT64,
        "max_length": INT64,
        "pattern": STRING,
        "example": VALUE,
        "any_of": many("Schema"),
        "additional_properties": VALUE,
        "ref": STRING,
        "defs": map_of("Schema"),
    },
}

# Fields the published v1 protos lack; on v1 they are "Unknown name" errors.
V1BETA1_ONLY: frozenset[tuple[str, str]] = frozenset({("FunctionCall", "id"), ("FunctionResponse", "id")})

# Oneof groups whose members are mutually exclusive: message -> (oneof name, members).
ONEOFS: dict[str, tuple[str, tuple[str, ...]]] = {
    "Part": ("data", ("text", "inline_data", "file_data", "function_call", "function_response",
                      "executable_code", "code_execution_result")),
}


class Enum(NamedTuple):
    proto_name: str  # relative to google.cloud.aiplatform.{version}
    values: frozenset[str]
    case_insensitive: bool = False


def _values(*names: str) -> frozenset[str]:
    return frozenset(names)


ENUMS: dict[str, Enum] = {
    # Lowercase type names ("object") are accepted in practice; there is no NULL type in the Vertex proto.
    "Type": Enum("Type", _values("TYPE_UNSPECIFIED", "STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY",
                                 "OBJECT"), case_insensitive=True),
    "Mode": Enum("FunctionCallingConfig.Mode", _values("MODE_UNSPECIFIED", "AUTO", "ANY", "NONE", "VALIDATED")),
    "ThinkingLevel": Enum("GenerationConfig.ThinkingConfig.ThinkingLevel",
                          _values("THINKING_LEVEL_UNSPECIFIED", "LOW", "MEDIUM", "HIGH", "MINIMAL")),
    "HarmBlockThreshold": Enum("SafetySetting.HarmBlockThreshold",
                               _values("HARM_BLOCK_THRESHOLD_UNSPECIFIED", "BLOCK_LOW_AND_ABOVE",
                                       "BLOCK_MEDIUM_AND_ABOVE", "BLOCK_ONLY_HIGH", "BLOCK_NONE", "OFF")),
    "HarmBlockMethod": Enum("SafetySetting.HarmBlockMethod",
                            _values("HARM_BLOCK_METHOD_UNSPECIFIED", "SEVERITY", "PROBABILITY")),
    "HarmCategory": Enum("HarmCategory", _values(
        "HARM_CATEGORY_UNSPECIFIED", "HARM_CATEGORY_HATE_SPEECH", "HARM_CATEGORY_DANGEROUS_CONTENT",
        "HARM_CATEGORY_HARASSMENT", "HARM_CATEGORY_SEXUALLY_EXPLICIT", "HARM_CATEGORY_CIVIC_INTEGRITY",
        "HARM_CATEGORY_JAILBREAK", "HARM_CATEGORY_IMAGE_HATE", "HARM_CATEGORY_IMAGE_DANGEROUS_CONTENT",
        "HARM_CATEGORY_IMAGE_HARASSMENT", "HARM_CATEGORY_IMAGE_SEXUALLY_EXPLICIT")),
    "Modality": Enum("GenerationConfig.Modality",
                     _values("MODALITY_UNSPECIFIED", "TEXT", "IMAGE", "AUDIO", "VIDEO", "DOCUMENT")),
    "MediaResolution": Enum("GenerationConfig.MediaResolution",
                            _values("MEDIA_RESOLUTION_UNSPECIFIED", "MEDIA_RESOLUTION_LOW",
                                    "MEDIA_RESOLUTION_MEDIUM", "MEDIA_RESOLUTION_HIGH")),
}

# "Invalid value" type labels for scalar kinds, as Google's JSON binder prints them.
SCALAR_TYPE_NAMES: dict[str, str] = {
    "string": "TYPE_STRING", "bool": "TYPE_BOOL", "bytes": "TYPE_BYTES", "int32": "TYPE_INT32",
    "int64": "TYPE_INT64", "float": "TYPE_FLOAT", "double": "TYPE_DOUBLE",
    "struct": "type.googleapis.com/google.protobuf.Struct",
    "duration": "type.googleapis.com/google.protobuf.Duration",
}


def snake_to_camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.capitalize() for word in rest)


def fields_of(message: str, api_version: str) -> dict[str, Field]:
    """The fields a message has on ``api_version`` ("v1" or "v1beta1")."""
    fields = MESSAGES[message]
    if api_version == "v1beta1":
        return fields
    return {name: f for name, f in fields.items() if (message, name) not in V1BETA1_ONLY}


def resolve_field(message: str, json_key: str, api_version: str) -> str | None:
    """The proto field name a JSON key binds to (lowerCamelCase or snake_case), or None."""
    return _json_names(message, api_version).get(json_key)


@functools.cache
def _json_names(message: str, api_version: str) -> dict[str, str]:
    names = fields_of(message, api_version)
    return {**{snake_to_camel(name): name for name in names}, **{name: name for name in names}}
