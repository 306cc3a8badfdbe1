"""One call through the gateway with a real provider SDK; prints the outcome as JSON.

usage: sdk_call.py anthropic|openai-chat|openai-responses stream|json
env:   GATEWAY_URL (base URL without /v1), GATEWAY_TOKEN
"""
import json
import os
import sys

surface, mode = sys.argv[1], sys.argv[2]
base, token = os.environ["GATEWAY_URL"], os.environ["GATEWAY_TOKEN"]
out = {"surface": surface, "mode": mode}

if surface == "anthropic":
    import anthropic

    client = anthropic.Anthropic(base_url=base, api_key=token, max_retries=0)
    kwargs = dict(model="claude-sonnet-4-6", max_tokens=64, messages=[{"role": "user", "content": "Reply with hi"}])
    if mode == "stream":
        with client.messages.stream(**kwargs) as stream:
            out["text"] = "".join(stream.text_stream)
            final = stream.get_final_message()
            headers = stream.response.headers
    else:
        raw = client.messages.with_raw_response.create(**kwargs)
        final = raw.parse()
        headers = raw.headers
        out["text"] = "".join(b.text for b in final.content if b.type == "text")
    # Which target served, and after how many attempts (the gateway's own headers).
    out["upstream"] = headers.get("x-gateway-upstream")
    out["attempts"] = headers.get("x-gateway-attempts")
    out["input_tokens"] = final.usage.input_tokens
    out["output_tokens"] = final.usage.output_tokens
    # The SDK's own error type for a refusal, to prove it parses our envelope.
    try:
        anthropic.Anthropic(base_url=base, api_key="wrong-token", max_retries=0).messages.create(**kwargs)
        out["refusal"] = None
    except anthropic.AuthenticationError as e:
        out["refusal"] = {"status": e.status_code, "type": e.body["error"]["type"]}
elif surface == "openai-chat":
    import openai

    client = openai.OpenAI(base_url=base + "/v1", api_key=token, max_retries=0)
    kwargs = dict(model="gpt-5.4", messages=[{"role": "user", "content": "Reply with hi"}])
    if mode == "stream":
        text = []
        for chunk in client.chat.completions.create(stream=True, **kwargs):
            for choice in chunk.choices:
                text.append(choice.delta.content or "")
        out["text"] = "".join(text)
    else:
        r = client.chat.completions.create(**kwargs)
        out["text"] = r.choices[0].message.content
        out["input_tokens"] = r.usage.prompt_tokens
        out["output_tokens"] = r.usage.completion_tokens
    try:
        openai.OpenAI(base_url=base + "/v1", api_key="wrong-token", max_retries=0).chat.completions.create(**kwargs)
        out["refusal"] = None
    except openai.AuthenticationError as e:
        out["refusal"] = {"status": e.status_code, "type": e.code}
elif surface == "openai-responses":
    import openai

    client = openai.OpenAI(base_url=base + "/v1", api_key=token, max_retries=0)
    if mode == "stream":
        text = []
        with client.responses.stream(model="gpt-5.4", input="Reply with hi") as stream:
            for event in stream:
                if event.type == "response.output_text.delta":
                    text.append(event.delta)
            final = stream.get_final_response()
        out["text"] = "".join(text)
    else:
        final = client.responses.create(model="gpt-5.4", input="Reply with hi")
        out["text"] = final.output_text
    out["input_tokens"] = final.usage.input_tokens
    out["output_tokens"] = final.usage.output_tokens
else:
    sys.exit(f"unknown surface {surface}")

print(json.dumps(out))
