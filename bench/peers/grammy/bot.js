// The peer botfn is compared with end to end (bench/run.sh): a grammY bot in webhook mode that
// answers every text like the demo's fallback, through the project's fake Bot API.
// Usage: node bot.js PORT API_ROOT TOKEN   (BENCH_SECRET = webhook secret)
const http = require("http");
const { Bot, webhookCallback } = require("grammy");

const [port, apiRoot, token] = process.argv.slice(2);
const bot = new Bot(token, {
  client: { apiRoot },
  botInfo: {
    id: Number(token.split(":")[0]), is_bot: true, first_name: "Bench", username: "demo_bot",
    can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false,
  },
});
bot.on("message:text", (ctx) => ctx.reply("I didn't get that. Send /help to see what I can do."));
bot.catch((err) => console.error("grammY handler error:", err.message));

const handle = webhookCallback(bot, "http", { secretToken: process.env.BENCH_SECRET });
http.createServer(handle).listen(Number(port), "127.0.0.1", () => console.log(`grammY peer on ${port}`));
