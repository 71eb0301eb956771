import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { categoryFor, categoryName, topicFor, AUDIT_TOPIC, OPERATIONAL_TOPIC } from './routing.js';

describe('routing rule', () => {
  test('POST, PUT, PATCH and DELETE API events are Audit, in any letter case', () => {
    for (const m of ['POST', 'PUT', 'PATCH', 'DELETE', 'post', 'Delete']) assert.equal(categoryFor('APIEvent', m), 'Audit', m);
  });

  test('every other API method is Operational', () => {
    for (const m of ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'CONNECT', 'PROPFIND']) assert.equal(categoryFor('APIEvent', m), 'Operational', m);
    assert.equal(categoryFor('APIEvent'), 'Operational');
  });

  test('workflow events are always Operational, whatever method is passed', () => {
    for (const m of [undefined, 'POST', 'DELETE']) assert.equal(categoryFor('WorkflowEvent', m), 'Operational');
  });

  test('topic names follow the category', () => {
    assert.equal(topicFor('Audit'), 'insight-logs-audit');
    assert.equal(topicFor('operational'), 'insight-logs-operational');
    assert.equal(AUDIT_TOPIC, 'insight-logs-audit');
    assert.equal(OPERATIONAL_TOPIC, 'insight-logs-operational');
    assert.equal(categoryName('Audit'), 'audit');
    assert.equal(categoryName('Operational'), 'operational');
  });
});
