// Drives one call of an official SDK against the gateway and prints what
// the SDK handed back to its caller, as one JSON line on stdout.
//
//   node sdk-driver.mjs <scenario>
//
// Environment: GATEWAY_URL (http://host:port, no path), GATEWAY_TOKEN (the
// caller's JWT), MODEL, PROMPT.  Exit status 0 when the SDK call returned,
// 1 when it threw (the error is printed as {"error": ...}).
//
// Scenarios:
//   openai-chat, openai-chat-stream, openai-responses,
//   openai-responses-stream, openai-embeddings, openai-models,
//   openai-responses-stream-final (responses.stream().finalResponse()),
//   openai-chat-stream-plain (no stream_options),
//   openai-embeddings-batch (three inputs)
//   openai-chat-tool, openai-chat-tool-stream, openai-responses-tool,
//   openai-responses-tool-stream (a write_file tool offered; the tool
//     call's arguments as the SDK parses them; with WORKDIR set, the
//     driver acts as the agent and writes the file into WORKDIR)
//   anthropic-messages, anthropic-messages-stream, anthropic-count-tokens,
//   anthropic-beta-messages, anthropic-models     (@anthropic-ai/sdk 1.x)
//   anthropic0-...                                (the same with 0.x)
//   anthropic-authtoken-messages                  (1.x, authToken option)

import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const base = process.env.GATEWAY_URL;
const token = process.env.GATEWAY_TOKEN;
const model = process.env.MODEL;
const prompt = process.env.PROMPT || "Say hello.";
const scenario = process.argv[2];
const workdir = process.env.WORKDIR;

if (!base || !token || !scenario) {
    console.error("usage: GATEWAY_URL=... GATEWAY_TOKEN=... node sdk-driver.mjs <scenario>");
    process.exit(2);
}

function openai() {
    const OpenAI = require("openai");
    const Ctor = OpenAI.default || OpenAI.OpenAI || OpenAI;
    return new Ctor({ apiKey: token, baseURL: base + "/v1", maxRetries: 0,
                      timeout: 30000 });
}

function anthropic(pkg, opts = {}) {
    const mod = require(pkg);
    const Ctor = mod.default || mod.Anthropic || mod;
    // The SDK adds /v1 itself: its base URL is the gateway's root.
    return new Ctor({ apiKey: token, baseURL: base, maxRetries: 0,
                      timeout: 30000, ...opts });
}

// What an agent does with a write_file call: the file's name only (never
// a path the model chose outside WORKDIR), the content as parsed.
async function agent(name, args) {
    if (workdir && name === "write_file") {
        const fs = await import("node:fs/promises");
        const path = await import("node:path");
        await fs.writeFile(path.join(workdir, path.basename(args.path)),
                           args.content);
    }
    return { name, args };
}

async function run() {
    const [family, ...rest] = scenario.split("-");
    const what = rest.join("-");
    if (family === "openai") {
        const c = openai();
        switch (what) {
        case "chat": {
            const r = await c.chat.completions.create({
                model, messages: [{ role: "user", content: prompt }] });
            return { text: r.choices[0].message.content,
                     finish: r.choices[0].finish_reason, usage: r.usage,
                     id: r.id, object: r.object };
        }
        case "chat-stream": {
            const s = await c.chat.completions.create({
                model, messages: [{ role: "user", content: prompt }],
                stream: true, stream_options: { include_usage: true } });
            let text = "", chunks = 0, finish = null, usage = null;
            for await (const ch of s) {
                chunks++;
                if (ch.usage) usage = ch.usage;
                for (const choice of ch.choices || []) {
                    if (choice.delta && choice.delta.content)
                        text += choice.delta.content;
                    if (choice.finish_reason) finish = choice.finish_reason;
                }
            }
            return { text, chunks, finish, usage };
        }
        case "responses": {
            const r = await c.responses.create({ model, input: prompt });
            return { text: r.output_text, status: r.status, usage: r.usage,
                     object: r.object };
        }
        case "responses-stream": {
            const s = await c.responses.create({ model, input: prompt,
                                                 stream: true });
            let text = "", types = [], usage = null, status = null;
            for await (const ev of s) {
                types.push(ev.type);
                if (ev.type === "response.output_text.delta") text += ev.delta;
                if (ev.type === "response.completed") {
                    usage = ev.response.usage;
                    status = ev.response.status;
                }
            }
            return { text, types, usage, status };
        }
        case "responses-stream-final": {
            // The helper: it rebuilds the response from the whole event
            // sequence and fails when an event it needs is missing.
            const s = c.responses.stream({ model, input: prompt });
            const types = [];
            s.on("event", ev => types.push(ev.type));
            const final = await s.finalResponse();
            return { text: final.output_text, status: final.status,
                     usage: final.usage, types };
        }
        case "chat-stream-plain": {
            // No stream_options: what a caller that did not ask for usage
            // gets.
            const s = await c.chat.completions.create({
                model, messages: [{ role: "user", content: prompt }],
                stream: true });
            let text = "", chunks = 0, usage_chunks = 0, finish = null;
            for await (const ch of s) {
                chunks++;
                if (ch.usage) usage_chunks++;
                for (const choice of ch.choices || []) {
                    if (choice.delta && choice.delta.content)
                        text += choice.delta.content;
                    if (choice.finish_reason) finish = choice.finish_reason;
                }
            }
            return { text, chunks, usage_chunks, finish };
        }
        case "chat-tool":
        case "chat-tool-stream": {
            const req = {
                model, messages: [{ role: "user", content: prompt }],
                tools: [{ type: "function", function: {
                    name: "write_file",
                    parameters: { type: "object", properties: {
                        path: { type: "string" },
                        content: { type: "string" } } } } }] };
            let msg;
            if (what === "chat-tool") {
                msg = (await c.chat.completions.create(req)).choices[0].message;
            } else {
                // The SDK's helper assembles the arguments from the chunks.
                const s = c.chat.completions.stream(req);
                msg = (await s.finalChatCompletion()).choices[0].message;
            }
            const call = msg.tool_calls[0];
            return agent(call.function.name,
                         JSON.parse(call.function.arguments));
        }
        case "responses-tool":
        case "responses-tool-stream": {
            const req = {
                model, input: prompt,
                tools: [{ type: "function", name: "write_file",
                          parameters: { type: "object", properties: {
                              path: { type: "string" },
                              content: { type: "string" } } } }] };
            let r;
            if (what === "responses-tool") {
                r = await c.responses.create(req);
            } else {
                // The helper rebuilds the output items from the events.
                r = await c.responses.stream(req).finalResponse();
            }
            const call = r.output.find(i => i.type === "function_call");
            return agent(call.name, JSON.parse(call.arguments));
        }
        case "embeddings-batch": {
            const input = [prompt, prompt + " again", "third"];
            const r = await c.embeddings.create({ model, input });
            return { count: r.data.length,
                     indexes: r.data.map(d => d.index),
                     dims: r.data.map(d => d.embedding.length),
                     usage: r.usage };
        }
        case "embeddings": {
            // The SDK asks for base64 by default and decodes it to floats.
            const r = await c.embeddings.create({ model, input: prompt });
            return { dims: r.data[0].embedding.length,
                     embedding: Array.from(r.data[0].embedding),
                     usage: r.usage };
        }
        case "models": {
            const ids = [];
            for await (const m of c.models.list()) ids.push(m.id);
            return { ids };
        }
        }
    }
    if (family === "anthropic" || family === "anthropic0") {
        const pkg = family === "anthropic" ? "@anthropic-ai/sdk"
                                           : "anthropic-sdk-0x";
        let c;
        let op = what;
        if (what.startsWith("authtoken-")) {
            c = anthropic(pkg, { apiKey: null, authToken: token });
            op = what.slice("authtoken-".length);
        } else {
            c = anthropic(pkg);
        }
        const msg = { model, max_tokens: 256,
                      messages: [{ role: "user", content: prompt }] };
        switch (op) {
        case "messages": {
            const r = await c.messages.create(msg);
            return { text: r.content.map(b => b.text || "").join(""),
                     stop: r.stop_reason, usage: r.usage, type: r.type };
        }
        case "messages-stream": {
            // The helper: it needs the whole event sequence to build the
            // final message.
            const s = c.messages.stream(msg);
            const types = [];
            s.on("streamEvent", ev => types.push(ev.type));
            const final = await s.finalMessage();
            return { text: final.content.map(b => b.text || "").join(""),
                     stop: final.stop_reason, usage: final.usage, types };
        }
        case "count-tokens": {
            const r = await c.messages.countTokens({
                model, messages: msg.messages });
            return { input_tokens: r.input_tokens };
        }
        case "beta-messages": {
            const r = await c.beta.messages.create({
                ...msg, betas: ["token-efficient-tools-2025-02-19"] });
            return { text: r.content.map(b => b.text || "").join(""),
                     stop: r.stop_reason, usage: r.usage };
        }
        case "models": {
            const ids = [];
            for await (const m of c.models.list()) ids.push(m.id);
            return { ids };
        }
        }
    }
    throw new Error("unknown scenario " + scenario);
}

try {
    const out = await run();
    process.stdout.write(JSON.stringify(out) + "\n");
} catch (e) {
    process.stdout.write(JSON.stringify({
        error: String(e && e.message || e), status: e && e.status,
        name: e && e.constructor && e.constructor.name,
        body: e && e.error }) + "\n");
    process.exit(1);
}
