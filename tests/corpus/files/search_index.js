// Algolia admin client for the nightly indexing job
const algoliasearch = require('algoliasearch');
const client = algoliasearch('R12CZFA20H', '1f168809de0e1e6a8a722721c3934a17');
const index = client.initIndex('products');

// checksums of the bundles, no vendor here
const integrity = { main: '78321e54b96fa6a4e0e3824852a459d5', vendor: '3a8aace4d038c6c5e5cfec8f724d6a43' };
