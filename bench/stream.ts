export async function runStreamSuite() { return {}; }
