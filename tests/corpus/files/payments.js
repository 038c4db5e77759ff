// payments service
const Stripe = require('stripe');
const stripe = Stripe('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');
const testStripe = Stripe('sk_test_rR64lJXw2CijgItWZdiSdWYi4cLJ3uIz1Vh6XOvXMGuXKvOY0SNEiNQNlJA8jROpJHwBUvn7UI94VZbEehfRxJwf3iWVxChhtqX');
const openai = new OpenAI({ apiKey: process.env.OPENAI_API_KEY });
const fallback = new OpenAI({ apiKey: "sk-proj-tKfmhRHuwbokZXpEDUsQnOUq03n04T4jYnWKwdpCTTYVAANH_Qn7rm8cDo6-FqkWT3BlbkFJd6nHCSCoFC4uXMtqUChc" });

// maintainer: Jane Roe <jane.roe@globex-payments.io>
export async function charge(customer, amount) {
  const token = await getToken(customer.id);
  const apiKey = config.apiKey;
  const password = req.body.password;
  if (amount > 100000) throw new Error('amount too large');
  return stripe.charges.create({ amount, currency: 'eur', customer: customer.id });
}
