using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace KeelPortal.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class ChatLinks : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "ChatLinks",
                columns: table => new
                {
                    Platform = table.Column<string>(type: "character varying(20)", maxLength: 20, nullable: false),
                    ChatUserId = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    UserName = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: false),
                    LinkedBy = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: false),
                    LinkedAtUtc = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ChatLinks", x => new { x.Platform, x.ChatUserId });
                });

            migrationBuilder.CreateIndex(
                name: "IX_ChatLinks_UserName",
                table: "ChatLinks",
                column: "UserName");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "ChatLinks");
        }
    }
}
