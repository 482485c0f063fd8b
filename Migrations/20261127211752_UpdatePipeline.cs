using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace KeelPortal.Migrations
{
    /// <inheritdoc />
    public partial class UpdatePipeline : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "Repositories",
                table: "Workloads",
                type: "TEXT",
                maxLength: 4000,
                nullable: false,
                defaultValue: "");

            migrationBuilder.CreateTable(
                name: "Approvals",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    Identifier = table.Column<string>(type: "TEXT", maxLength: 900, nullable: false),
                    WorkloadId = table.Column<string>(type: "TEXT", maxLength: 600, nullable: false),
                    Repository = table.Column<string>(type: "TEXT", maxLength: 500, nullable: false),
                    CurrentVersion = table.Column<string>(type: "TEXT", maxLength: 300, nullable: false),
                    NewVersion = table.Column<string>(type: "TEXT", maxLength: 300, nullable: false),
                    Digest = table.Column<string>(type: "TEXT", maxLength: 100, nullable: true),
                    ImagesJson = table.Column<string>(type: "TEXT", maxLength: 8000, nullable: false),
                    Message = table.Column<string>(type: "TEXT", maxLength: 2000, nullable: false),
                    VotesRequired = table.Column<int>(type: "INTEGER", nullable: false),
                    DeadlineUtc = table.Column<DateTime>(type: "TEXT", nullable: false),
                    State = table.Column<string>(type: "TEXT", maxLength: 20, nullable: false),
                    Reason = table.Column<string>(type: "TEXT", maxLength: 2000, nullable: true),
                    Archived = table.Column<bool>(type: "INTEGER", nullable: false),
                    CreatedAtUtc = table.Column<DateTime>(type: "TEXT", nullable: false),
                    UpdatedAtUtc = table.Column<DateTime>(type: "TEXT", nullable: false),
                    ClaimedAtUtc = table.Column<DateTime>(type: "TEXT", nullable: true),
                    ApplyAttempts = table.Column<int>(type: "INTEGER", nullable: false),
                    Generation = table.Column<long>(type: "INTEGER", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Approvals", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "PollStates",
                columns: table => new
                {
                    Repository = table.Column<string>(type: "TEXT", maxLength: 500, nullable: false),
                    LastPolledAtUtc = table.Column<DateTime>(type: "TEXT", nullable: false),
                    LastOutcome = table.Column<string>(type: "TEXT", maxLength: 2000, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_PollStates", x => x.Repository);
                });

            migrationBuilder.CreateTable(
                name: "ApprovalVotes",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    ApprovalId = table.Column<long>(type: "INTEGER", nullable: false),
                    Voter = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    Approve = table.Column<bool>(type: "INTEGER", nullable: false),
                    Comment = table.Column<string>(type: "TEXT", maxLength: 2000, nullable: true),
                    CastAtUtc = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ApprovalVotes", x => x.Id);
                    table.ForeignKey(
                        name: "FK_ApprovalVotes_Approvals_ApprovalId",
                        column: x => x.ApprovalId,
                        principalTable: "Approvals",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_Approvals_Identifier",
                table: "Approvals",
                column: "Identifier");

            migrationBuilder.CreateIndex(
                name: "IX_Approvals_OnePendingPerWorkload",
                table: "Approvals",
                column: "WorkloadId",
                unique: true,
                filter: "\"State\" = 'Pending'");

            migrationBuilder.CreateIndex(
                name: "IX_Approvals_State_DeadlineUtc",
                table: "Approvals",
                columns: new[] { "State", "DeadlineUtc" });

            migrationBuilder.CreateIndex(
                name: "IX_Approvals_WorkloadId_State",
                table: "Approvals",
                columns: new[] { "WorkloadId", "State" });

            migrationBuilder.CreateIndex(
                name: "IX_ApprovalVotes_ApprovalId_Voter",
                table: "ApprovalVotes",
                columns: new[] { "ApprovalId", "Voter" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "ApprovalVotes");

            migrationBuilder.DropTable(
                name: "PollStates");

            migrationBuilder.DropTable(
                name: "Approvals");

            migrationBuilder.DropColumn(
                name: "Repositories",
                table: "Workloads");
        }
    }
}
