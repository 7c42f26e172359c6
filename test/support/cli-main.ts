import { main } from '../../receiver/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
