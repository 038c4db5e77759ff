<?php
define( 'DB_NAME', 'wordpress' );
define( 'DB_USER', 'wp_admin' );
define( 'DB_PASSWORD', 'r9!Zq4@Lm2#x' );
define( 'DB_HOST', 'localhost' );
define( 'AUTH_KEY',         'F=%+A(Wt;c,QROi|}MR*{E/qSq3^D!OJ1~gTFU0xl}~=!eajwmo2a]j{xqR3i*6-' );
define( 'SECURE_AUTH_KEY',  'put your unique phrase here' );
$table_prefix = 'wp_';
