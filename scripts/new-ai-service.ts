// Scaffolds an AI service's wrapper from its registry entry: `npm run new:ai-service <slug>`.
// Writes subgraphs/ai/src/services/<slug>/{schema.graphql,index.ts} and a test beside the others, and adds the
// wrapper to services/index.ts, so that the 16 stay the same shape. The registry entry must exist first.
import { scaffoldAiService } from './lib/scaffold-ai-service.ts';

const slug = process.argv[2];
try {
  if (!slug || slug.startsWith('-')) throw new Error('usage: npm run new:ai-service <slug>  (a slug of the registry)');
  for (const file of scaffoldAiService(slug, process.cwd())) console.log(`wrote ${file}`);
  console.log('next: declare its operations in schema.graphql and index.ts, and its upstream work');
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}
