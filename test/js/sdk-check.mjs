// The official OpenAI and Anthropic Node SDKs, pointed at a Sanjia gateway by base URL only.
// Reads SANJIA_URL, SANJIA_KEY and SANJIA_MODEL; prints one JSON object with what each call saw.
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';

const base = process.env.SANJIA_URL;
const key = process.env.SANJIA_KEY;
const model = process.env.SANJIA_MODEL;
const messages = [{ role: 'user', content: 'Say hello' }];
const out = {};

const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: key, maxRetries: 0 });

const completion = await openai.chat.completions.create({ model, messages });
out.complete = { id: completion.id, object: completion.object, text: completion.choices[0].message.content,
  finish: completion.choices[0].finish_reason, usage: completion.usage };

const stream = await openai.chat.completions.create({ model, messages, stream: true, stream_options: { include_usage: true } });
let text = '';
let usage = null;
let chunks = 0;
for await (const chunk of stream) {
  chunks++;
  text += chunk.choices[0]?.delta?.content ?? '';
  if (chunk.usage) usage = chunk.usage;
}
out.stream = { text, usage, chunks };

async function failure(call) {
  try {
    await call();
    return { name: 'none' };
  } catch (e) {
    return { name: e.constructor.name, status: e.status ?? null, code: e.code ?? e.error?.error?.code ?? null };
  }
}
out.badKey = await failure(() => new OpenAI({ baseURL: `${base}/v1`, apiKey: 'sk-not-a-key', maxRetries: 0 })
  .chat.completions.create({ model, messages }));
out.unknownModel = await failure(() => openai.chat.completions.create({ model: 'no-such-model', messages }));

const anthropic = new Anthropic({ baseURL: base, apiKey: key, maxRetries: 0 });
const message = await anthropic.messages.create({ model, max_tokens: 64, messages });
out.messages = { type: message.type, text: message.content[0].text, stop: message.stop_reason, usage: message.usage };

const messageStream = anthropic.messages.stream({ model, max_tokens: 64, messages });
let deltas = 0;
messageStream.on('text', () => { deltas++; });
const final = await messageStream.finalMessage();
out.messagesStream = { text: final.content[0].text, stop: final.stop_reason, usage: final.usage, deltas };

out.anthropicUnknownModel = await failure(() => anthropic.messages.create({ model: 'no-such-model', max_tokens: 8, messages }));

console.log(JSON.stringify(out));
