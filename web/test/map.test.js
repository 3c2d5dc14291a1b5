import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labelSpot, placeLabel, splitName } from '../static/js/venue-map.js';

const near = (a, b, eps = 1e-6) => assert.ok(Math.abs(a - b) <= eps, `${a} ≉ ${b}`);

test('a rectangle takes its label at its centre', () => {
  const s = labelSpot([[0, 0], [100, 0], [100, 40], [0, 40]], (w, h) => Math.min(w, h));
  near(s.x, 50); near(s.y, 20);
  assert.equal(s.width, 100);
  assert.equal(s.height, 40);
});

test('an L-shaped concourse takes its label in its long arm, not at a centroid outside it', () => {
  // The demo's north concourse: a long arm along the top, a short one down the side.
  const poly = [[135, 54], [320, 54], [320, 66], [147.5, 66], [147.5, 130], [135, 130]];
  const spot = placeLabel(poly, 'North concourse', 6);
  assert.ok(spot.y > 54 && spot.y < 66, `label at y ${spot.y}, want inside the top arm`);
  assert.ok(spot.x > 147.5 && spot.x < 320, `label at x ${spot.x}`);
  assert.ok(spot.size >= 6 * 0.45, `size ${spot.size} too small to be shown`);
  assert.deepEqual(spot.name, ['North concourse']);
});

test('a long name in a narrow zone is wrapped onto two lines', () => {
  assert.deepEqual(splitName('Pitch – front of stage'), ['Pitch – front', 'of stage']);
  assert.deepEqual(splitName('Gate'), ['Gate']);
  const spot = placeLabel([[235, 96], [270, 96], [270, 164], [235, 164]], 'Pitch – front of stage', 6.1);
  assert.deepEqual(spot.name, ['Pitch – front', 'of stage']);
  assert.ok(spot.size >= 6.1 * 0.45, `size ${spot.size}`);
  assert.equal(spot.third, true, 'room for the sensor count');
});
