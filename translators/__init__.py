"""Pure translation between OpenAI Chat Completions and Vertex AI Gemini `generateContent`.

No mitmproxy import and no I/O: bodies in, bodies out. Modules:

- `openai_types`   pydantic models of the OpenAI request shapes (and Responses-shaped bodies)
- `vertex_types`   pydantic models of the Vertex request shapes
- `request`        `parse_request(bytes) -> ChatRequest`, `to_vertex(ChatRequest, ModelTarget, ...) -> VertexCall`
- `messages`       OpenAI messages -> Vertex `contents` / `systemInstruction`, with history repair
- `tools`          tool declarations, tool_choice and function-name mapping
- `schema`         JSON Schema -> Vertex OpenAPI `Schema` sanitizer
- `generation`     sampling parameters, thinking and structured output -> `generationConfig`
- `models`         model aliases and Cursor-style suffixes
- `response`       a unary Vertex reply -> `chat.completion`
- `stream`         `StreamTranslator`: Vertex SSE bytes -> OpenAI SSE bytes, a small state machine
- `upstream_errors` Vertex error bodies -> OpenAI error bodies
- `signatures`     the bounded thought-signature store
- `errors`, `context` shared types
"""
