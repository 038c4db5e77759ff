// Spotify client for the playlist importer (client credentials flow)
const spotify = new SpotifyWebApi({ clientId: process.env.SPOTIFY_ID });
spotify.setClientSecret('c063aa934d7242a10e25a3e9e8d0e1ec');

// weather widget: OpenWeather key
const weather = createWeatherClient('metric', '5e82eccc62aa5b5badb9e0f8ce1c81d1');

// the cache key of a track is its md5, the session id a random hex
const etag = md5(trackBytes);
spotify.getTrack('jA08Dr05UWlRzhnNPsMGyF', { session: 'ec23ec2f960060cf97837fa44e94dd57' });
