#!/usr/bin/env node
import { exitWith } from '@shmkit/kit/cli';

import { main } from '../src/cli';

exitWith('shm-push', main(process.argv.slice(2)));
